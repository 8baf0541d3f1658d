import type { z } from 'zod';

/** Variables as parsed, and the names whose values did not parse (read as unset). */
export interface ReadEnvResult<S extends z.ZodRawShape> {
  values: z.output<z.ZodObject<S>>;
  invalid: ReadonlySet<string>;
}

/**
 * Parses each variable on its own, so one bad value does not hide the problems of the others
 * (design.md §4: all errors at once). A value that does not parse becomes a problem and is read
 * as unset, which every field must accept (optional or defaulted): the checks across variables
 * that follow still run, and the caller throws once.
 */
export function readEnv<S extends z.ZodRawShape>(schema: z.ZodObject<S>, env: Record<string, string | undefined>, problems: string[]): ReadEnvResult<S> {
  const values: Record<string, unknown> = {};
  const invalid = new Set<string>();
  for (const [name, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    const parsed = field.safeParse(env[name]);
    if (parsed.success) {
      values[name] = parsed.data;
      continue;
    }
    invalid.add(name);
    for (const issue of parsed.error.issues) problems.push(issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`);
    const unset = field.safeParse(undefined);
    if (!unset.success) throw new Error(`readEnv: ${name} must be optional or have a default`);
    values[name] = unset.data;
  }
  return { values: values as z.output<z.ZodObject<S>>, invalid };
}
