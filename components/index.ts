/**
 * Library entry of aks-acr-cross-tenant: what other stacks import.
 */
export { CrossTenantAcrPull, DEFAULT_SECRET_LIFETIME_DAYS, DEFAULT_SECRET_RENEW_BEFORE_DAYS } from "./crossTenantAcrPull";
export type {
    ClusterToBind,
    CrossTenantAcrPullArgs,
    FederatedPullSecretDelivery,
    ImagePullSecretDelivery,
    RegistryTenantProviders,
    ServicePrincipalProfile,
} from "./crossTenantAcrPull";
export { tenantProviders } from "./providers";
export type { TenantProviders, TenantProvidersArgs } from "./providers";
export { REGISTRY_ROLES, adminConsentUrl, parseRegistryId, roleDefinitionId } from "./azureIds";
export type { AzureEnvironment, RegistryId, RegistryRole } from "./azureIds";
export { DEFAULT_REGISTRY_ROLE, REGISTRY_ROLE_CHOICES, plannedAssignments, repositoryCondition } from "./registryAccess";
export type { PlannedAssignment, RegistryRoleChoice, RepositoryLimits } from "./registryAccess";
export { REGISTRY_LOGIN_SUFFIXES, registryLoginServer } from "./azureIds";
export { DEFAULT_PULL_SECRET_NAME, DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS, PULL_SECRET_TARGETS } from "./pullSecretTarget/settings";
export type { PullSecretTarget } from "./pullSecretTarget/settings";
export { dockerConfigJson } from "./deliveries/imagePullSecret/dockerConfig";
export type { DockerAuth, DockerConfig } from "./deliveries/imagePullSecret/dockerConfig";
export {
    DEFAULT_MINTER_SERVICE_ACCOUNT,
    DEFAULT_REFRESH_INTERVAL,
    MAX_FEDERATED_CREDENTIALS,
    acrAccessTokenSpec,
    externalSecretSpec,
    federationSubject,
} from "./deliveries/federatedPullSecret/externalSecrets";
export { clusterConnection, clusterKubernetesProvider, type ClusterConnection } from "./pullSecretTarget/kubernetesProvider";
export type { ClusterKubernetesProviderArgs } from "./pullSecretTarget/kubernetesProvider";
export { secretSchedule } from "./secretSchedule";
export type { SecretSchedule, SecretScheduleInput } from "./secretSchedule";
export { ValidationError } from "./validation";
export type { Problem } from "./validation";
export { ClusterCredentialBinding, BINDING_DELETE_POLICIES } from "./clusterBinding";
export type { BindingDeletePolicy, BindingSignIn, ClusterCredentialBindingArgs } from "./clusterBinding";
export type { ClusterTenantRole } from "./validation";
export {
    ARM_ENDPOINTS,
    ClusterCredentialError,
    readClusterClientId,
    resetClusterServicePrincipal,
} from "./reset/resetClusterServicePrincipal";
export type {
    ArmConnection,
    ClusterCredentialErrorCode,
    ClusterTarget,
    ServicePrincipalCredentials,
} from "./reset/resetClusterServicePrincipal";
export { secretHealth } from "./secretHealth";
export type { DeployedSecretDates, SecretConsequences, SecretHealth } from "./secretHealth";
