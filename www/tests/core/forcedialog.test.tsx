import { describe, it, expect, vi, afterEach } from 'vitest';
import { render, fireEvent, cleanup, waitFor } from '@testing-library/preact';
import { ForceDialog, forceParams, initialValues, leafFields, splitErrors, forceTarget, type ForceScheduler } from '../../src/components/forcedialog';
import { ApiError } from '../../src/api/rest';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const fields: any[] = [
  {
    name: '',
    fullName: null,
    type: 'nested',
    layout: 'vertical',
    columns: 1,
    fields: [
      { name: 'username', fullName: 'username', type: 'username', default: '', label: 'Your name:' },
      { name: 'reason', fullName: 'reason', type: 'text', default: 'force build', label: 'reason' },
      { name: 'priority', fullName: 'priority', type: 'int', default: 0, label: 'priority' },
    ],
  },
  { name: 'foo', fullName: 'foo', type: 'text', default: 'x', label: 'Foo' },
  {
    name: 'grp',
    fullName: 'grp',
    type: 'nested',
    label: 'Group',
    layout: 'tabs',
    fields: [
      { name: 'n', fullName: 'grp_n', type: 'int', default: 3, label: 'N' },
      { name: 'ch', fullName: 'grp_ch', type: 'list', multiple: true, choices: ['a', 'b'], default: 'a' },
    ],
  },
  { name: 'ok', fullName: 'ok', type: 'bool', default: false },
  { name: 'fix', fullName: 'fix', type: 'fixed', default: 'v' },
  { name: 'secret', fullName: 'secret', type: 'text', default: 'h', hide: true },
];

const sched: ForceScheduler = { name: 'force', button_name: 'Start', label: 'Force it', builder_names: ['b1'], enabled: true, all_fields: fields };

describe('force form logic', () => {
  it('lists leaf fields and their defaults', () => {
    expect(leafFields(fields).map((f) => f.fullName)).toEqual(['username', 'reason', 'priority', 'foo', 'grp_n', 'grp_ch', 'ok', 'fix', 'secret']);
    expect(initialValues(fields)).toMatchObject({ reason: 'force build', priority: 0, grp_ch: ['a'], ok: false, secret: 'h' });
  });
  it('builds the params', () => {
    const p = forceParams(3, fields, { ...initialValues(fields), priority: '5', foo: 'abc' });
    expect(p).toMatchObject({ builderid: '3', priority: 5, foo: 'abc', grp_n: 3, fix: 'v', secret: 'h' });
  });
  it('splits errors by field', () => {
    expect(splitErrors(new ApiError('x', 400, { foo: 'bad', other: 'o' }), fields)).toEqual({ fields: { foo: 'bad' }, top: 'other: o' });
    expect(splitErrors(new Error("field grp_n is not an int"), fields)).toEqual({ fields: { grp_n: 'field grp_n is not an int' }, top: null });
    expect(splitErrors(new Error('boom'), fields)).toEqual({ fields: {}, top: 'boom' });
  });
  it('finds the build request to show', () => {
    expect(forceTarget([5, { '3': 9 }], 3)).toBe('/buildrequests/9?follow=1');
    expect(forceTarget(null, 3)).toBeNull();
  });
});

describe('ForceDialog', () => {
  it('shows server validation under the field, then forces', async () => {
    const calls: any[] = [];
    let reply: any = { status: 400, body: { jsonrpc: '2.0', id: 1, error: { code: -32602, message: { foo: "Foo:'X' does not match" } } } };
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push({ url, body: JSON.parse(String(init.body)) });
        return { ok: reply.status === 200, status: reply.status, statusText: '', text: async () => JSON.stringify(reply.body) };
      }),
    );
    const onClose = vi.fn();
    const { getByTestId, queryByTestId, getByText } = render(<ForceDialog scheduler={sched} builderid={3} onClose={onClose} />);
    expect(queryByTestId('force-field-secret')).toBeNull(); // hidden
    fireEvent.input(getByTestId('force-field-foo'), { target: { value: 'X' } });
    fireEvent.click(getByTestId('force-field-ok'));
    fireEvent.submit(getByTestId('force-form'));
    await waitFor(() => expect(getByTestId('force-field-error-foo').textContent).toContain('does not match'));
    expect(getByTestId('force-error')).toBeTruthy();
    expect(calls[0].url).toBe('api/v2/forceschedulers/force');
    expect(calls[0].body.method).toBe('force');
    expect(calls[0].body.params).toMatchObject({ builderid: '3', foo: 'X', ok: true, reason: 'force build', grp_ch: ['a'] });
    // the tabs layout shows one child at a time
    fireEvent.click(getByText('ch'));
    expect(getByTestId('force-field-grp_ch')).toBeTruthy();
    reply = { status: 200, body: { jsonrpc: '2.0', id: 2, result: [1, { '3': 11 }] } };
    fireEvent.input(getByTestId('force-field-foo'), { target: { value: 'abc' } });
    fireEvent.submit(getByTestId('force-form'));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(location.hash).toBe('#/buildrequests/11?follow=1');
  });
});
