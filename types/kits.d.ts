/**
 * Type declarations of the OpenHarmony modules that `esimkit/register` provides at run time, so that code
 * written for OpenHarmony type-checks unchanged. In tsconfig.json: `"types": ["node", "esimkit/kits"]`
 * (or `/// <reference types="esimkit/kits" />`).
 */
declare module '@kit.TelephonyKit' {
  export { eSIM } from 'esimkit';
}

declare module '@kit.BasicServicesKit' {
  export { BusinessError, type AsyncCallback, type Callback } from 'esimkit';
}

declare module '@ohos.telephony.esim' {
  import { eSIM } from 'esimkit';
  export { eSIM };
  export default eSIM;
}

declare module '@ohos.base' {
  export { BusinessError, type AsyncCallback, type Callback } from 'esimkit';
}
