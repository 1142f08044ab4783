/**
 * The in-cluster half of the federated delivery, as pure specs: what External Secrets Operator (ESO) needs to mint
 * short-lived registry tokens for the application from a Kubernetes service account's token, with no secret at all.
 *
 * The chain, as ESO's source has it (external-secrets/external-secrets v2.9.0, commit 378bdb62,
 * `generators/v1/acr/acr.go` and `providers/v1/azure/keyvault/keyvault.go`):
 * 1. The `ACRAccessToken` generator with `auth.workloadIdentity` takes `serviceAccountRef.name` in the namespace of
 *    the `ExternalSecret` that uses it (acr.go l.275-279: `serviceAccountRef.namespace` is ignored), reads its
 *    annotations `azure.workload.identity/client-id` and `azure.workload.identity/tenant-id` (both required,
 *    acr.go l.283-290) and requests a token of that service account for the audience `api://AzureADTokenExchange`
 *    (keyvault.go l.82, l.1215-1225).
 * 2. It signs in at `<authority>/<annotation tenant-id>` with that token as the client assertion of the client id,
 *    for the scope `https://management.core.windows.net//.default` (keyvault.go l.1235-1251, acr.go l.254). The
 *    annotation names tenant B: the application's service principal there holds the pull roles, and Entra accepts
 *    a federated credential of a multitenant application at the authority of a tenant it is provisioned in.
 * 3. It posts that Entra token to `https://<login server>/oauth2/exchange` (`grant_type=access_token`, `service`,
 *    `tenant=<spec.tenantId>`, `access_token`) and, with no `scope`, returns the ACR refresh token as the password,
 *    with username `00000000-0000-0000-0000-000000000000` (acr.go l.156-170, l.210-243). It lives about three hours.
 * So the minting service account lives in every target namespace (one federated credential each, subject
 * `system:serviceaccount:<namespace>:<name>`), each registry has its generator there, and one `ExternalSecret` per
 * namespace templates every registry's token into a `kubernetes.io/dockerconfigjson` Secret, each generator's keys
 * renamed (`acr<N>_username`, `acr<N>_password`) so the second does not overwrite the first.
 */
import type { AzureEnvironment } from "../../azureIds";

/** The service account ESO mints with, in every target namespace, when none is named. */
export const DEFAULT_MINTER_SERVICE_ACCOUNT = "acr-token-minter";
/** How often ESO mints a new token: well inside the ACR refresh token's three hours. */
export const DEFAULT_REFRESH_INTERVAL = "1h";
/** The audience Entra requires of a federated credential's assertion, and the one ESO requests. */
export const FEDERATION_AUDIENCE = "api://AzureADTokenExchange";
/** Entra's limit of federated identity credentials per application: one per target namespace here. */
export const MAX_FEDERATED_CREDENTIALS = 20;

/** The API versions written, and the ESO releases that serve them. */
export const EXTERNAL_SECRET_API = "external-secrets.io/v1";
export const GENERATOR_API = "generators.external-secrets.io/v1alpha1";
/** `external-secrets.io/v1` is served from ESO v0.16.0 and the only version from v0.17.0. */
export const MIN_ESO_VERSION = "v0.17.0";

/** What the delivery reads in the cluster's discovery before anything is created. */
export const ESO_API_RESOURCES = [
    { groupVersion: EXTERNAL_SECRET_API, resource: "externalsecrets" },
    { groupVersion: GENERATOR_API, resource: "acraccesstokens" },
] as const;

/** ESO's `environmentType` for each Azure cloud. */
export const ESO_ENVIRONMENT_TYPES: Readonly<Record<AzureEnvironment, string>> = {
    public: "PublicCloud",
    usgovernment: "USGovernmentCloud",
    china: "ChinaCloud",
};

/** A refresh interval: minutes or hours, from 5 minutes to 2 hours (the token lives about 3). */
const INTERVAL = /^(\d+)(m|h)$/;
export const REFRESH_INTERVAL_FORM =
    "a duration from 5m to 2h, in minutes or hours (30m, 1h): ESO mints a new token this often; one lives about 3 hours";

export function isRefreshInterval(value: string): boolean {
    const match = INTERVAL.exec(value);
    if (!match) return false;
    const minutes = Number(match[1]) * (match[2] === "h" ? 60 : 1);
    return minutes >= 5 && minutes <= 120;
}

/**
 * A refresh interval as Go's `time.Duration` prints it (`30m` -> `30m0s`, `90m` -> `1h30m0s`). ESO (v0.20) writes the
 * spec back in that form when it adds its finalizer (a full update), so any other spelling would show as a change in
 * every later preview and be written back and forth. `value` must pass `isRefreshInterval`.
 */
export function goDuration(value: string): string {
    const match = INTERVAL.exec(value);
    if (!match) throw new Error(`not a refresh interval: ${value}`);
    const minutes = Number(match[1]) * (match[2] === "h" ? 60 : 1);
    const hours = Math.floor(minutes / 60);
    return hours > 0 ? `${hours}h${minutes % 60}m0s` : `${minutes}m0s`;
}

/** The subject of the federated credential for the minting service account in one namespace. */
export function federationSubject(namespace: string, serviceAccount: string): string {
    return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/** The minting service account's annotations: the application's client id, and tenant B as the authority. */
export function minterAnnotations(clientId: string, registryTenantId: string): Record<string, string> {
    return { "azure.workload.identity/client-id": clientId, "azure.workload.identity/tenant-id": registryTenantId };
}

/** The generator's name for one registry (registry names are 5-50 letters and digits). */
export function generatorName(registryName: string): string {
    return `acr-${registryName.toLowerCase()}`;
}

/** One registry's `ACRAccessToken` spec: tenant B, the login server, the cloud, the minting service account. */
export function acrAccessTokenSpec(
    loginServer: string,
    registryTenantId: string,
    environment: AzureEnvironment,
    minter: string,
): Record<string, unknown> {
    return {
        tenantId: registryTenantId,
        registry: loginServer,
        environmentType: ESO_ENVIRONMENT_TYPES[environment],
        auth: { workloadIdentity: { serviceAccountRef: { name: minter } } },
    };
}

/** A registry of the pull secret: its login server and its generator's name. */
export interface MintedRegistry {
    readonly loginServer: string;
    readonly generator: string;
}

/**
 * The `ExternalSecret` spec of one namespace: every registry's generator, its keys renamed `acr<N>_...`, templated
 * into one `.dockerconfigjson` with an `auths` entry per login server, the Secret owned by ESO.
 */
export function externalSecretSpec(
    secretName: string,
    registries: readonly MintedRegistry[],
    refreshInterval: string,
): Record<string, unknown> {
    const auths = registries.map((registry, index) => {
        const user = `.acr${index}_username`;
        const password = `.acr${index}_password`;
        return `${JSON.stringify(registry.loginServer)}:{"username":"{{ ${user} }}","password":"{{ ${password} }}","auth":"{{ printf "%s:%s" ${user} ${password} | b64enc }}"}`;
    });
    return {
        refreshInterval: goDuration(refreshInterval),
        dataFrom: registries.map((registry, index) => ({
            sourceRef: { generatorRef: { apiVersion: GENERATOR_API, kind: "ACRAccessToken", name: registry.generator } },
            rewrite: [{ regexp: { source: "^(.*)$", target: `acr${index}_\${1}` } }],
        })),
        target: {
            name: secretName,
            creationPolicy: "Owner",
            deletionPolicy: "Delete",
            template: {
                type: "kubernetes.io/dockerconfigjson",
                engineVersion: "v2",
                data: { ".dockerconfigjson": `{"auths":{${auths.join(",")}}}` },
            },
        },
    };
}

/** Why the cluster cannot take this delivery: ESO's resources are not served. */
export function esoMissingMessage(missing: readonly { readonly groupVersion: string; readonly resource: string }[]): string {
    return [
        `The cluster does not serve ${missing.map((item) => `${item.resource} in ${item.groupVersion}`).join(" or ")}, which the federated delivery writes.`,
        `Install External Secrets Operator ${MIN_ESO_VERSION} or later (its CRDs serve external-secrets.io/v1 and generators.external-secrets.io/v1alpha1), or choose credentialDelivery: imagePullSecret. Nothing was created.`,
    ].join("\n");
}

/** Why a cluster without an OIDC issuer cannot take this delivery. */
export function oidcIssuerMissingMessage(resourceGroupName: string, clusterName: string): string {
    return [
        `AKS cluster ${clusterName} (resource group ${resourceGroupName}) has no OIDC issuer, which the federated credentials trust.`,
        `Enable it (az aks update --resource-group ${resourceGroupName} --name ${clusterName} --enable-oidc-issuer) and run again, or choose credentialDelivery: imagePullSecret. Nothing was created.`,
    ].join("\n");
}
