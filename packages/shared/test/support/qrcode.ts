// The `qrcode` package is a dependency of @ticketgen/shared only; bench/ (outside the package)
// reaches it through this re-export so that both tsx and tsc resolve it from packages/shared.
import QRCode from "qrcode";

export default QRCode;
