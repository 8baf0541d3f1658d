import { describe, expect, it } from 'vitest';
import { knownLayerFiles, lastingLayerFiles } from '../../../functions/worker/known-layer-files.ts';
import { mergeBlobRecord, type BlobRecord } from '../../../shared/pull-record.ts';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const DOCKER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const listed = { files: [{ path: 'bin/app', size: 3, digest: `sha256:${'b'.repeat(64)}`, mode: 0o755 }], filesError: undefined };
const refused = { files: undefined, filesError: { code: 'LAYER_INVALID' as const, message: `layer declared as ${GZIP} (gzip) starts like zstd data` } };

/** The blob record after a pull with `mediaType` recorded `outcome` (as relay-pull.ts does). */
const recorded = (outcome: typeof listed | typeof refused, mediaType: string, current?: BlobRecord) =>
  mergeBlobRecord(current, { digest: DIGEST, size: 10, repositories: [], ...lastingLayerFiles(outcome, mediaType) });

describe('the files verdict remembered on a blob record (h2 B2)', () => {
  it('is answered again for the same bytes under a media type of the same compression', () => {
    const blob = recorded(listed, GZIP);
    expect(knownLayerFiles(blob, GZIP)).toEqual(listed);
    expect(knownLayerFiles(blob, DOCKER_GZIP)).toEqual(listed);
  });

  it('is not handed to a repository that declares another compression for the same bytes', () => {
    // A lying repository's verdict must not disable the listing of a correct one, nor the reverse.
    expect(knownLayerFiles(recorded(refused, GZIP), ZSTD)).toBeUndefined();
    expect(knownLayerFiles(recorded(listed, ZSTD), GZIP)).toBeUndefined();
  });

  it('a newer verdict under another compression replaces the older one', () => {
    const blob = recorded(listed, ZSTD, recorded(refused, GZIP));
    expect(knownLayerFiles(blob, ZSTD)).toEqual(listed);
    expect(knownLayerFiles(blob, GZIP)).toBeUndefined();
  });

  it('a record written before the compression was kept is not trusted', () => {
    expect(knownLayerFiles({ digest: DIGEST, size: 10, repositories: [], files: listed.files }, GZIP)).toBeUndefined();
  });

  it('nothing is remembered for a media type that names no tar compression', () => {
    expect(lastingLayerFiles(listed, 'application/octet-stream')).toBeUndefined();
  });
});
