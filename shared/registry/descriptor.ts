import { z } from 'zod';
import { parseDigest, type Digest } from '../digest.ts';
import { isRelayError } from '../errors.ts';

/** An OCI content descriptor (image-spec `descriptor.md`): what a manifest says about one blob. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  /** Foreign-layer locations; never fetched by us (field case K1), kept for the record. */
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A digest checked by parseDigest: sha512 works, unknown algorithms are refused (field case E1). */
export const digestSchema = z.string().transform((value, ctx): Digest => {
  try {
    return parseDigest(value);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: (err as Error).message,
      params: { relayCode: isRelayError(err) ? err.code : 'INVALID_DIGEST' },
    });
    return z.NEVER;
  }
});

/** A descriptor: non-empty media type, parsed digest, size a non-negative safe integer. */
export const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: digestSchema,
  size: z.int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** An index / manifest-list entry: a descriptor plus the platform it is for (optional: field case C3). */
export const indexEntrySchema = descriptorSchema.extend({
  platform: z
    .object({
      architecture: z.string(),
      os: z.string(),
      variant: z.string().optional(),
      'os.version': z.string().optional(),
      'os.features': z.array(z.string()).optional(),
    })
    .optional(),
});

/** An index entry, validated. */
export type IndexEntry = z.infer<typeof indexEntrySchema>;
