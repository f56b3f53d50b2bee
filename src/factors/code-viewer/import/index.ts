/**
 * Importers for code viewer token files: CSV and PSKC (RFC 6030). Pure: text in, tokens or
 * errors out; storing them is the caller's business.
 */
export { CSV_COLUMNS, parseTokenCsv, type ParseTokenCsvOptions } from './csv.ts';
export { parseTokenPskc, type ParseTokenPskcOptions } from './pskc.ts';
export type { ImportedToken, ImportError, ImportErrorCode, ImportResult } from './types.ts';
