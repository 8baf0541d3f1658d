/**
 * Write buffer for files we stream to disk (stored objects, staged files, extracted files): while
 * one write is in the kernel the next chunks queue here and go out together (writev), instead of
 * the source pausing after every 16 KiB (Node's default). Bounded, so memory stays flat whatever
 * the file's size.
 */
export const WRITE_BUFFER_BYTES = 1024 * 1024;
