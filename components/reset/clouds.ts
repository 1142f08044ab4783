/**
 * Endpoints of the Azure clouds. Shipped with the binding's runtime (see `runtimeSource.ts`), so it imports nothing.
 */

/** Entra sign-in hosts of the Azure clouds, without a trailing slash. */
export const LOGIN_HOSTS: { readonly public: string; readonly usgovernment: string; readonly china: string } = Object.freeze({
    public: "https://login.microsoftonline.com",
    usgovernment: "https://login.microsoftonline.us",
    china: "https://login.chinacloudapi.cn",
});

/** ARM endpoints of the Azure clouds, without a trailing slash. */
export const ARM_ENDPOINTS: { readonly public: string; readonly usgovernment: string; readonly china: string } = Object.freeze({
    public: "https://management.azure.com",
    usgovernment: "https://management.usgovcloudapi.net",
    china: "https://management.chinacloudapi.cn",
});
