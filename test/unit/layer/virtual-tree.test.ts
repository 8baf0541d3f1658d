import { describe, expect, it } from 'vitest';
import { VirtualTree, type LowerTree } from '../../../shared/layer/virtual-tree.ts';

/** A lower tree of real directories `d/d/...` that counts how often it is asked. */
function countingLower(depth: number): LowerTree & { asked: number } {
  const lower = {
    asked: 0,
    async kindOf(path: string) {
      lower.asked += 1;
      return path.split('/').length <= depth && path.split('/').every((name) => name === 'd') ? ('directory' as const) : undefined;
    },
  };
  return lower;
}

describe('VirtualTree', () => {
  it('looks at each lower directory once per layer, not once per entry below it (h2 B7)', async () => {
    const depth = 200;
    const dir = Array.from({ length: depth }, () => 'd').join('/');
    const lower = countingLower(depth);
    const tree = new VirtualTree(lower);
    for (let i = 0; i < 1000; i += 1) await tree.place(`${dir}/f${i}`, 'file');
    // 200 directories once, plus one look at each new file's own path: not 1000 × 200.
    expect(lower.asked).toBe(depth + 1000);
    expect(tree.files()).toHaveLength(1000);
  });

  it('asks nothing below a directory it had to create', async () => {
    const lower = countingLower(0);
    const tree = new VirtualTree(lower);
    const placement = await tree.place('a/b/c/file', 'file');
    expect(placement).toEqual({ create: [{ path: 'a', replace: false }, { path: 'a/b', replace: false }, { path: 'a/b/c', replace: false }], clear: false });
    expect(lower.asked).toBe(1);
  });
});
