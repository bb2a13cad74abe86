/** What `import eSIM from '@ohos.telephony.esim'` (OpenHarmony's older import style) loads under `esimkit/register`. */
import { eSIM } from './esim.js';
export { eSIM };
export default eSIM;
