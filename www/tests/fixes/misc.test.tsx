import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/preact';
import { Avatar, BuildBadges, buildKey, initials } from '../../src/components/misc';

afterEach(() => cleanup());

describe('Avatar', () => {
  it('shows the image, then initials when it fails to load', () => {
    const r = render(<Avatar email="alice.smith@example.org" name="Alice Smith" size={20} />);
    const img = r.container.querySelector('img')!;
    expect(img.getAttribute('src')).toBe('avatar?email=alice.smith%40example.org&size=20');
    fireEvent.error(img);
    expect(r.container.querySelector('img')).toBeNull();
    const fallback = r.getByTestId('avatar-initials');
    expect(fallback.textContent).toBe('AS');
    expect(fallback.style.width).toBe('20px');
  });

  it('words initials from names, emails and usernames', () => {
    expect(initials('Alice Smith')).toBe('AS');
    expect(initials('bob@example.org')).toBe('B');
    expect(initials('carol.jones@example.org')).toBe('CJ');
    expect(initials('Dan <dan@x.org>')).toBe('D');
    expect(initials('')).toBe('?');
    expect(initials(null)).toBe('?');
  });
});

describe('BuildBadges', () => {
  it('gives builds of different builders with the same number different keys', () => {
    expect(buildKey({ builderid: 1, number: 3 })).not.toEqual(buildKey({ builderid: 2, number: 3 }));
    expect(buildKey({ buildid: 7, builderid: 1, number: 3 })).toBe(7);
  });

  it('keys builds of different builders with the same number apart', () => {
    const r = render(
      <BuildBadges
        builds={[
          { builderid: 1, number: 3, results: 0, complete: true },
          { builderid: 2, number: 3, results: 2, complete: true },
        ]}
      />,
    );
    const links = [...r.container.querySelectorAll('a')].map((a) => a.getAttribute('href'));
    expect(links).toEqual(['#/builders/1/builds/3', '#/builders/2/builds/3']);
    // re-rendered in another order, each link keeps its own builder
    r.rerender(
      <BuildBadges
        builds={[
          { builderid: 2, number: 3, results: 2, complete: true },
          { builderid: 1, number: 3, results: 0, complete: true },
        ]}
      />,
    );
    expect([...r.container.querySelectorAll('a')].map((a) => a.getAttribute('href'))).toEqual(['#/builders/2/builds/3', '#/builders/1/builds/3']);
  });
});
