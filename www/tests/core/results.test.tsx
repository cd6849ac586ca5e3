import { describe, it, expect } from 'vitest';
import { render } from '@testing-library/preact';
import { resultsText, resultsClass, ResultBadge } from '../../src/components/results';

describe('results', () => {
  it('names result codes', () => {
    expect(resultsText(0)).toBe('SUCCESS');
    expect(resultsText(2)).toBe('FAILURE');
    expect(resultsText(6)).toBe('CANCELLED');
    expect(resultsText(null, false)).toBe('RUNNING');
    expect(resultsText(null)).toBe('PENDING');
    expect(resultsText(-1)).toBe('PENDING');
  });
  it('gives css classes', () => {
    expect(resultsClass(1)).toBe('bb-result-warnings');
    expect(resultsClass(4)).toBe('bb-result-exception');
    expect(resultsClass(null, false)).toBe('bb-result-running');
    expect(resultsClass(undefined)).toBe('bb-result-pending');
  });
  it('renders a badge', () => {
    const { container } = render(<ResultBadge results={2} data-testid="build-result" />);
    const el = container.querySelector('[data-testid=build-result]')!;
    expect(el.textContent).toBe('FAILURE');
    expect(el.className).toContain('bb-result-failure');
  });
});
