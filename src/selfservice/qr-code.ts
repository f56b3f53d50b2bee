/**
 * A QR code as inline SVG, of a link a phone scans (an authenticator app's `otpauth://` URI, a
 * pairing link): error correction M (15 % of the code may be unreadable), a quiet zone of two
 * modules. qrcode is imported at the first code drawn: with the PNG writer it brings it is heap a
 * node at rest does not need (issue 10's memory goal).
 */
export async function qrCodeSvg(text: string): Promise<string> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
