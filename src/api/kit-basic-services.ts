/** What `import { BusinessError } from '@kit.BasicServicesKit'` (and '@ohos.base') loads under `esimkit/register`. */
export { BusinessError } from './errors.js';
