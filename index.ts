/**
 * The aks-acr-cross-tenant program: stack config -> explicit per-tenant providers -> component -> stack outputs.
 */
import { loadStackSettings } from "./components/config";
import { tenantProviders } from "./components/providers";
import { CrossTenantAcrPull, type CrossTenantAcrPullArgs } from "./components/crossTenantAcrPull";
import { deliveryNamed } from "./components/deliveries";

// Validation throws before any provider or resource is declared, so bad config deploys nothing.
const settings = loadStackSettings();

const clusterTenant = tenantProviders("cluster-tenant", {
    tenantId: settings.cluster.tenantId,
    subscriptionId: settings.cluster.subscriptionId,
    environment: settings.azureEnvironment,
    ...settings.cluster.credentials,
});
// Role assignments are addressed by their scope, so one provider serves registries in every tenant-B subscription.
const registryTenant = tenantProviders("registry-tenant", {
    tenantId: settings.registry.tenantId,
    subscriptionId: settings.registry.registries[0].subscriptionId,
    environment: settings.azureEnvironment,
    ...settings.registry.credentials,
});

/** The chosen delivery's arguments to the component: the cluster to switch, a pull secret, minted tokens, or nothing. */
function delivery(): Partial<CrossTenantAcrPullArgs> {
    return deliveryNamed(settings.delivery.kind)!.componentArgs(settings.delivery, {
        subscriptionId: settings.cluster.subscriptionId,
        resourceGroupName: settings.cluster.resourceGroupName,
        clusterName: settings.cluster.clusterName,
        signIn: settings.cluster.credentials,
        azureNative: clusterTenant.azureNative,
    }) as Partial<CrossTenantAcrPullArgs>;
}

const acrPull = new CrossTenantAcrPull(
    "cross-tenant-acr-pull",
    {
        clusterTenantId: settings.cluster.tenantId,
        registryTenantId: settings.registry.tenantId,
        registryIds: settings.registry.registries.map((registry) => registry.id),
        registryRole: settings.registry.role,
        registryRepositories: settings.registry.repositories,
        applicationName: settings.applicationName,
        applicationOwners: settings.applicationOwners,
        secretLifetimeDays: settings.secretLifetimeDays,
        secretRenewBeforeDays: settings.secretRenewBeforeDays,
        azureEnvironment: settings.azureEnvironment,
        registryTenantProviders: registryTenant,
        initialSecretWindowAnchor: settings.secretWindowAnchor,
        ...delivery(),
    },
    { providers: [clusterTenant.azuread, clusterTenant.azureNative] },
);

export const credentialDelivery = settings.delivery.kind;
export const applicationClientId = acrPull.applicationClientId;
export const applicationObjectId = acrPull.applicationObjectId;
export const clusterTenantServicePrincipalObjectId = acrPull.clusterTenantServicePrincipalObjectId;
export const registryTenantServicePrincipalObjectId = acrPull.registryTenantServicePrincipalObjectId;
export const roleAssignmentIds = acrPull.roleAssignmentIds;
export const registryLoginServers = acrPull.registryLoginServers;
export const pullSecrets = acrPull.pullSecrets;
export const secretExpiresAt = acrPull.secretExpiresAt;
export const secretRenewsAfter = acrPull.secretRenewsAfter;
export const secretWindowAnchor = acrPull.secretWindowAnchor;
export const adminConsentUrl = acrPull.adminConsentUrl;
export const previousClusterClientId = acrPull.previousClusterClientId;
