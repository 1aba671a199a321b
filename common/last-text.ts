/**
 * The text made from the last bytes seen in one field, and those bytes: a decoder that meets the
 * same bytes record after record (a collector's host id, a header's name) makes their text once.
 */
export class LastText {
  private readonly bytes: Buffer;
  private length = -1;
  private text = '';

  constructor(maxBytes: number) {
    this.bytes = Buffer.alloc(maxBytes);
  }

  get(
    buf: Buffer,
    start: number,
    end: number,
    make: (buf: Buffer, start: number, end: number) => string,
  ): string {
    const length = end - start;
    if (length === this.length) {
      let i = 0;
      while (i < length && buf[start + i] === this.bytes[i]) i++;
      if (i === length) return this.text;
    }
    this.text = make(buf, start, end);
    if (length <= this.bytes.length) {
      buf.copy(this.bytes, 0, start, end);
      this.length = length;
    } else {
      this.length = -1;
    }
    return this.text;
  }
}

/** UTF-8 text of a range (a `make` for {@link LastText.get}). */
export const utf8Text = (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end);
