// Reads the header record of a CSV file (RFC 4180 §2: fields split by the delimiter, `"` quotes,
// `""` escapes a quote). Only the header is parsed here; DuckDB parses the data rows. Reading it
// ourselves lets the data be read with fixed positional columns and no sniffing, so a malformed row
// can never change how the rest of the file is interpreted.
import { closeSync, openSync, readSync } from 'node:fs';
import { GatewayError } from '../core/errors.ts';

const MAX_HEADER_BYTES = 1024 * 1024;
const MAX_COLUMNS = 4096;

function headerError(display: string, reason: string): GatewayError {
  return new GatewayError('CONNECTOR_DATA_INVALID', `CSV file ${display} has an unreadable header: ${reason}`, {
    file: display,
    row: 0,
    line: 1,
    reason,
  });
}

/** The header's field names, in order. Throws CONNECTOR_DATA_INVALID naming line 1. */
export function readCsvHeader(path: string, display: string, delimiter: string): string[] {
  const buffer = Buffer.alloc(MAX_HEADER_BYTES);
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, buffer, 0, MAX_HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  let text = buffer.subarray(0, length).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parseHeaderRecord(text, delimiter, display, length === MAX_HEADER_BYTES);
}

/** Parses the first record of `text`. Exported for tests. */
export function parseHeaderRecord(text: string, delimiter: string, display = 'input', isTruncated = false): string[] {
  const fields: string[] = [];
  let field = '';
  let isQuoted = false;
  let atFieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (isQuoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
        continue;
      }
      if (ch === '"') {
        isQuoted = false;
        continue;
      }
      if (ch === '\n' || ch === '\r') throw headerError(display, 'a column name contains a line break');
      field += ch;
      continue;
    }
    if (ch === '"' && atFieldStart) {
      isQuoted = true;
      atFieldStart = false;
      continue;
    }
    if (ch === delimiter) {
      fields.push(field);
      field = '';
      atFieldStart = true;
      continue;
    }
    if (ch === '\n' || ch === '\r') {
      fields.push(field);
      return checked(fields, display);
    }
    if (ch === '"') throw headerError(display, 'a quote inside an unquoted column name');
    field += ch;
    atFieldStart = false;
  }
  if (isQuoted) throw headerError(display, 'an unterminated quote');
  if (isTruncated) throw headerError(display, `no line end in the first ${MAX_HEADER_BYTES} bytes`);
  // A file holding only a header line without a final newline.
  fields.push(field);
  return checked(fields, display);
}

function checked(fields: string[], display: string): string[] {
  if (fields.length === 1 && fields[0] === '') throw headerError(display, 'the header is empty');
  if (fields.length > MAX_COLUMNS) throw headerError(display, `more than ${MAX_COLUMNS} columns`);
  return fields;
}
