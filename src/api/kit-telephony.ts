/** What `import { eSIM } from '@kit.TelephonyKit'` loads under `esimkit/register`. */
export { eSIM } from './esim.js';
