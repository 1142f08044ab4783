/**
 * CrossTenantAcrPull: lets an AKS cluster in one Entra tenant (A) pull from container registries in another (B).
 *
 * It is a grant plus a delivery. The grant (`grant.ts`) is Microsoft's manual procedure as code: a multitenant
 * application and its secret in tenant A, its service principal in both tenants, a pull role on every registry in
 * tenant B. The delivery hands the credentials to the cluster: by switching the cluster's own service principal
 * (`deliveries/clusterServicePrincipal/declare.ts`), as a Kubernetes image pull secret (`deliveries/imagePullSecret/declare.ts`), or not
 * at all. Each delivery is checked before the grant is declared, and declared after it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Secret } from "@pulumi/kubernetes/core/v1";
import {
    adminConsentUrl,
    isAzureEnvironment,
    isClusterName,
    isResourceGroupName,
    registryLoginServer,
    type AzureEnvironment,
    type RegistryId,
} from "./azureIds";
import type { ClusterCredentialBinding, ClusterCredentialBindingArgs } from "./clusterBinding";
import type * as ClusterServicePrincipalModule from "./deliveries/clusterServicePrincipal/declare";
import type { ClusterToBind } from "./deliveries/clusterServicePrincipal/declare";
import {
    DEFAULT_PULL_SECRET_NAME,
    DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS,
    PULL_SECRET_TARGETS,
    PULL_SECRET_TARGET_FORM,
} from "./pullSecretTarget/settings";
import type * as ImagePullSecretModule from "./deliveries/imagePullSecret/declare";
import type { ImagePullSecretDelivery } from "./deliveries/imagePullSecret/declare";
import type * as FederatedPullSecretModule from "./deliveries/federatedPullSecret/declare";
import type { FederatedPullSecretDelivery } from "./deliveries/federatedPullSecret/declare";
import {
    DEFAULT_MINTER_SERVICE_ACCOUNT,
    DEFAULT_REFRESH_INTERVAL,
    MAX_FEDERATED_CREDENTIALS,
    REFRESH_INTERVAL_FORM,
    federationSubject,
    isRefreshInterval,
} from "./deliveries/federatedPullSecret/externalSecrets";
import type * as ResourcesModule from "@pulumi/azure-native/resources";
import {
    DEFAULT_REGISTRY_ROLE,
    ROLE_ASSIGNMENT_MODE_API_VERSION,
    checkRegistryRole,
    checkRepositoryLimits,
    checkRoleTakesLimits,
    limitsNeedAbacMessage,
    modeUnreadableMessage,
    type RegistryRoleChoice,
    type RepositoryLimits,
} from "./registryAccess";
import { declareGrant, type Grant, type GrantArgs, type RegistryTenantProviders } from "./grant";
import {
    checkApplicationName,
    checkAzureEnvironment,
    checkClusterTenantRoles,
    checkGuid,
    checkKubernetesName,
    checkKubernetesNames,
    checkObjectIds,
    checkPastDate,
    checkRegistryIds,
    checkSecretLifetime,
    checkTenantsDiffer,
    refuseRun,
    show,
    throwIfProblems,
    type ClusterTenantRole,
    type Problem,
    type ResolvedClusterTenantRole,
} from "./validation";

export type { ClusterToBind } from "./deliveries/clusterServicePrincipal/declare";
export type { ImagePullSecretDelivery } from "./deliveries/imagePullSecret/declare";
export type { FederatedPullSecretDelivery } from "./deliveries/federatedPullSecret/declare";
export type { RegistryTenantProviders } from "./grant";

// Each delivery module is loaded only by the stacks that use it: the image pull secret loads @pulumi/kubernetes,
// the cluster switch the dynamic provider and the AKS read. The type-only imports above cost nothing at run time.
function clusterServicePrincipalDelivery(): typeof ClusterServicePrincipalModule {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("./deliveries/clusterServicePrincipal/declare") as typeof ClusterServicePrincipalModule;
}
function federatedPullSecretDelivery(): typeof FederatedPullSecretModule {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("./deliveries/federatedPullSecret/declare") as typeof FederatedPullSecretModule;
}
function imagePullSecretDelivery(): typeof ImagePullSecretModule {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("./deliveries/imagePullSecret/declare") as typeof ImagePullSecretModule;
}

export interface CrossTenantAcrPullArgs {
    /** Entra tenant id of the AKS cluster (tenant A), where the application and its secret live. */
    readonly clusterTenantId: string;
    /** Entra tenant id of the registries (tenant B); must differ from `clusterTenantId`. */
    readonly registryTenantId: string;
    /** Resource ids of the container registries in tenant B; they may span several subscriptions. */
    readonly registryIds: readonly string[];
    /**
     * Pull roles granted on each registry. Default `AcrPullAndRepositoryReader`: both pull-only roles, so pulls work
     * whichever role-assignment mode a registry is in ("RBAC Registry Permissions" honours only AcrPull, "RBAC
     * Registry + ABAC Repository Permissions" only Container Registry Repository Reader) and through a switch.
     * `AcrPull` or `ContainerRegistryRepositoryReader` grants exactly that one.
     */
    readonly registryRole?: RegistryRoleChoice;
    /**
     * Repositories (`<registry name>/<repository>`) and prefixes (`<registry name>/<prefix>/`) the cluster may pull,
     * per registry; a registry not named pulls from every repository. A limited registry gets only Container
     * Registry Repository Reader, with an ABAC condition, and must be in ABAC mode: its mode is read through the
     * registry tenant's azure-native provider (in previews too), and a registry in the legacy mode, or whose mode
     * cannot be read, stops the run before anything is created.
     */
    readonly registryRepositories?: readonly string[];
    /** Display name of the Entra application. */
    readonly applicationName: string;
    /** Object ids of extra owners of the application (the deploying identity owns it anyway). */
    readonly applicationOwners?: readonly string[];
    /** Lifetime of each client secret in days, 1..730. Default 180. */
    readonly secretLifetimeDays?: number;
    /** Days before expiry at which a `pulumi up` renews the secret; less than the lifetime. Default 30. */
    readonly secretRenewBeforeDays?: number;
    /** Azure cloud: the admin-consent link and the registries' login servers. Default `public`. */
    readonly azureEnvironment?: AzureEnvironment;
    /**
     * Delivery by the cluster's service principal: switch this existing service-principal cluster to the
     * application's credentials, after every role assignment exists. The cluster is read first (through the
     * component's azure-native provider, whose subscription must be the cluster's) and a managed-identity cluster
     * stops the run before anything is created. Omit it for a cluster this stack owns: feed
     * `servicePrincipalProfile` to its ManagedCluster and call `bindCluster`. Not together with `imagePullSecret`.
     */
    readonly cluster?: ClusterToBind;
    /**
     * Delivery as a Kubernetes image pull secret, for any cluster (managed-identity ones included): a Secret in each
     * namespace and a reference from each service account. Not together with `cluster`.
     */
    readonly imagePullSecret?: ImagePullSecretDelivery;
    /**
     * Delivery with no secret at all: registry tokens minted in the cluster by External Secrets Operator from a
     * federated credential per namespace (the cluster's OIDC issuer must be enabled, ESO installed). The grant has no
     * password and nothing to renew. Not together with `cluster` or `imagePullSecret`.
     */
    readonly federatedPullSecret?: FederatedPullSecretDelivery;
    /**
     * Roles the cluster's previous principal held in tenant A (for example NetworkContributor on a custom VNet
     * subnet), granted to the application's tenant-A principal before the switch through the cluster-tenant provider.
     * Only for service-principal clusters (`cluster` or `bindCluster`).
     */
    readonly clusterTenantRoles?: readonly ClusterTenantRole[];
    /** The registry tenant's providers (the "aliased" tenant-B providers). */
    readonly registryTenantProviders: RegistryTenantProviders;
    /** Clock used for the secret schedule; tests inject one. Default: the system clock. */
    readonly clock?: () => Date;
    /**
     * Only for upgrading a stack deployed before the component kept its rotation anchor itself: the day its windows
     * counted from (its `secretWindowAnchor` output, ISO 8601). The component records it instead of today the first
     * time it records an anchor, so the upgrade does not renew the secret early; later runs ignore it.
     */
    readonly initialSecretWindowAnchor?: string;
    /** Stack name used in the messages' `pulumi up --stack` command. Default: the current stack. */
    readonly stackName?: string;
}

/** Client id and secret the AKS cluster authenticates with. */
export interface ServicePrincipalProfile {
    readonly clientId: string;
    readonly secret: string;
}

export const DEFAULT_SECRET_LIFETIME_DAYS = 180;
export const DEFAULT_SECRET_RENEW_BEFORE_DAYS = 30;

/** Checks a cluster to bind: ids and names, and a principal to restore when the policy says restore. */
function checkClusterToBind(key: string, cluster: ClusterToBind, problems: Problem[]): void {
    checkGuid(`${key}.subscriptionId`, cluster.subscriptionId, "a subscription id", problems);
    if (!isResourceGroupName(cluster.resourceGroupName)) {
        problems.push({ key: `${key}.resourceGroupName`, value: show(cluster.resourceGroupName), expected: "a resource group name" });
    }
    if (!isClusterName(cluster.clusterName)) {
        problems.push({ key: `${key}.clusterName`, value: show(cluster.clusterName), expected: "an AKS cluster name" });
    }
    if (cluster.deletePolicy === "restore" && !cluster.restore) {
        problems.push({
            key: `${key}.restore`,
            value: undefined,
            expected: 'the service principal to restore when deletePolicy is "restore"',
        });
    }
}

/** The image pull secret delivery with its defaults applied. */
interface CheckedPullSecret {
    readonly delivery: ImagePullSecretDelivery;
    readonly secretName: string;
    readonly serviceAccounts: readonly string[];
}

/**
 * Checks the image pull secret delivery: a provider and its kubeconfig, namespaces, where the reference goes,
 * service accounts and the Secret's name.
 */
function checkImagePullSecret(key: string, delivery: ImagePullSecretDelivery, problems: Problem[]): CheckedPullSecret {
    if (typeof delivery.provider !== "object" || delivery.provider === null) {
        problems.push({
            key: `${key}.provider`,
            value: undefined,
            expected: "the cluster's Kubernetes provider (spread clusterConnection: { ...clusterConnection(...), namespaces })",
        });
    }
    if (delivery.kubeconfig === undefined || delivery.kubeconfig === null || delivery.kubeconfig === "") {
        problems.push({
            key: `${key}.kubeconfig`,
            value: undefined,
            expected: "the kubeconfig of that provider (clusterConnection returns both)",
        });
    }
    checkKubernetesNames(`${key}.namespaces`, delivery.namespaces ?? [], "label", true, problems);
    const target = delivery.target ?? "serviceAccounts";
    if (!(PULL_SECRET_TARGETS as readonly string[]).includes(target)) {
        problems.push({ key: `${key}.target`, value: show(target), expected: PULL_SECRET_TARGET_FORM });
    }
    if (target === "pods" && delivery.serviceAccounts !== undefined && delivery.serviceAccounts.length > 0) {
        problems.push({
            key: `${key}.serviceAccounts`,
            value: show(delivery.serviceAccounts),
            expected: "no service accounts with target pods: every pod in the namespaces gets the secret",
        });
    }
    const serviceAccounts = target === "pods" ? [] : (delivery.serviceAccounts ?? DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS);
    checkKubernetesNames(`${key}.serviceAccounts`, serviceAccounts, "subdomain", false, problems);
    const secretName = delivery.secretName ?? DEFAULT_PULL_SECRET_NAME;
    checkKubernetesName(`${key}.secretName`, secretName, problems);
    return { delivery, secretName, serviceAccounts };
}

/** The component's arguments, checked and parsed once. */
interface CheckedArgs {
    readonly registries: RegistryId[];
    /** Keyed by lower-case registry name. */
    readonly repositoryLimits: ReadonlyMap<string, RepositoryLimits>;
    readonly clusterTenantRoles: ResolvedClusterTenantRole[];
    readonly pullSecret?: CheckedPullSecret;
    readonly federated?: CheckedFederated;
}

/**
 * Checks the component's arguments with the same rules as the stack config, before anything is declared, and
 * returns what they parse to, so everything is parsed once.
 */
function checkArgs(name: string, args: CrossTenantAcrPullArgs, now: Date): CheckedArgs {
    const problems: Problem[] = [];
    checkGuid("clusterTenantId", args.clusterTenantId, "a tenant id", problems);
    checkGuid("registryTenantId", args.registryTenantId, "a tenant id", problems);
    checkTenantsDiffer(args.clusterTenantId, args.registryTenantId, "registryTenantId", problems);
    const registries = checkRegistryIds("registryIds", args.registryIds, problems);
    const role = args.registryRole ?? DEFAULT_REGISTRY_ROLE;
    checkRegistryRole("registryRole", role, problems);
    const environment = args.azureEnvironment ?? "public";
    const repositoryLimits = checkRepositoryLimits(
        "registryRepositories",
        args.registryRepositories ?? [],
        registries,
        (registryName) => (isAzureEnvironment(environment) ? registryLoginServer(registryName, environment) : registryName),
        problems,
    );
    checkRoleTakesLimits("registryRole", role, repositoryLimits.size > 0, problems);
    checkApplicationName("applicationName", args.applicationName, problems);
    checkObjectIds("applicationOwners", args.applicationOwners ?? [], problems);
    checkSecretLifetime(
        { lifetime: "secretLifetimeDays", renewBefore: "secretRenewBeforeDays" },
        args.secretLifetimeDays ?? DEFAULT_SECRET_LIFETIME_DAYS,
        args.secretRenewBeforeDays ?? DEFAULT_SECRET_RENEW_BEFORE_DAYS,
        problems,
    );
    checkAzureEnvironment("azureEnvironment", args.azureEnvironment ?? "public", problems);
    if (args.initialSecretWindowAnchor !== undefined) {
        checkPastDate("initialSecretWindowAnchor", args.initialSecretWindowAnchor, now, problems);
    }
    const clusterTenantRoles = checkClusterTenantRoles("clusterTenantRoles", args.clusterTenantRoles ?? [], problems);
    if (args.cluster) {
        checkClusterToBind("cluster", args.cluster, problems);
    }
    const pullSecret = args.imagePullSecret ? checkImagePullSecret("imagePullSecret", args.imagePullSecret, problems) : undefined;
    const federated = args.federatedPullSecret ? checkFederated("federatedPullSecret", args.federatedPullSecret, problems) : undefined;
    const given = (["cluster", "imagePullSecret", "federatedPullSecret"] as const).filter((key) => args[key] !== undefined);
    if (given.length > 1) {
        problems.push({
            key: given[1],
            value: `given together with ${given[0]}`,
            expected:
                "one delivery: cluster (switch a service-principal cluster), imagePullSecret (a pull secret, any cluster) or federatedPullSecret (tokens minted in the cluster, no secret)",
        });
    }
    const clusterSide = args.imagePullSecret ? "imagePullSecret" : args.federatedPullSecret ? "federatedPullSecret" : undefined;
    if (clusterSide && clusterTenantRoles.length > 0) {
        problems.push({
            key: "clusterTenantRoles",
            value: `${clusterTenantRoles.length} role(s)`,
            expected: `no cluster-tenant roles with ${clusterSide}: they exist for a cluster that signs in as the application`,
        });
    }
    if (federated) {
        for (const key of ["secretLifetimeDays", "secretRenewBeforeDays", "initialSecretWindowAnchor"] as const) {
            if (args[key] !== undefined) {
                problems.push({ key, value: show(args[key]), expected: `no ${key} with federatedPullSecret: it has no secret to renew` });
            }
        }
    }
    throwIfProblems(
        (count) => `Invalid arguments for CrossTenantAcrPull "${name}": ${count} problem${count === 1 ? "" : "s"}; nothing was declared.`,
        problems,
    );
    return { registries, repositoryLimits, clusterTenantRoles, pullSecret, federated };
}

/** The federated delivery with its defaults applied. */
interface CheckedFederated extends CheckedPullSecret {
    readonly delivery: FederatedPullSecretDelivery;
    readonly minter: string;
    readonly refreshInterval: string;
}

/**
 * Checks the federated delivery: the image pull secret delivery's settings, the cluster whose issuer it trusts,
 * the minting service account, the refresh interval, and Entra's limit of federated credentials per application
 * (one per namespace).
 */
function checkFederated(key: string, delivery: FederatedPullSecretDelivery, problems: Problem[]): CheckedFederated {
    const base = checkImagePullSecret(key, delivery, problems);
    const cluster = delivery.cluster as FederatedPullSecretDelivery["cluster"] | undefined;
    if (!cluster || !isResourceGroupName(cluster.resourceGroupName)) {
        problems.push({
            key: `${key}.cluster.resourceGroupName`,
            value: show(cluster?.resourceGroupName),
            expected: "a resource group name",
        });
    }
    if (!cluster || !isClusterName(cluster.clusterName)) {
        problems.push({ key: `${key}.cluster.clusterName`, value: show(cluster?.clusterName), expected: "an AKS cluster name" });
    }
    const minter = delivery.minterServiceAccount ?? DEFAULT_MINTER_SERVICE_ACCOUNT;
    checkKubernetesName(`${key}.minterServiceAccount`, minter, problems);
    const refreshInterval = delivery.refreshInterval ?? DEFAULT_REFRESH_INTERVAL;
    if (!isRefreshInterval(refreshInterval)) {
        problems.push({ key: `${key}.refreshInterval`, value: show(refreshInterval), expected: REFRESH_INTERVAL_FORM });
    }
    const namespaces = delivery.namespaces ?? [];
    if (namespaces.length > MAX_FEDERATED_CREDENTIALS) {
        problems.push({
            key: `${key}.namespaces`,
            value: `${namespaces.length} namespaces`,
            expected: `at most ${MAX_FEDERATED_CREDENTIALS}: each needs a federated credential on the application, and Entra allows ${MAX_FEDERATED_CREDENTIALS} per application`,
        });
    }
    return { ...base, delivery, minter, refreshInterval };
}

/** What a delivery declared. */
interface Delivered {
    readonly clusterBinding?: ClusterCredentialBinding;
    readonly pullSecrets: readonly Secret[];
    readonly pullSecretRefs: readonly string[];
}

/** A delivery: checked before the grant is declared, declared after it. */
interface PlannedDelivery {
    /** Resolves once the delivery's checks pass; the grant waits for it. Absent when there is nothing to check. */
    readonly ready?: pulumi.Output<unknown>;
    /** For a federated delivery: what the grant's federated credentials trust, instead of a password. */
    readonly federation?: GrantArgs["federated"];
    /** Declares the delivery, once the grant exists. */
    deliver(grant: Grant): Delivered;
}

/**
 * Plans the delivery the arguments ask for: the cluster's service principal (`cluster`), an image pull secret
 * (`imagePullSecret`), or none. Each is loaded only when asked for, and starts its checks now.
 */
function planDelivery(
    name: string,
    args: CrossTenantAcrPullArgs,
    checked: CheckedArgs,
    loginServers: readonly string[],
    component: CrossTenantAcrPull,
): PlannedDelivery {
    const nothing: Delivered = { pullSecrets: [], pullSecretRefs: [] };
    const cluster = args.cluster;
    if (cluster) {
        return {
            ready: clusterServicePrincipalDelivery().checkClusterTakesServicePrincipal(cluster, component),
            deliver: () => ({ ...nothing, clusterBinding: component.bindCluster(`${name}-cluster-binding`, cluster) }),
        };
    }
    const pullSecret = checked.pullSecret;
    if (pullSecret) {
        const module = imagePullSecretDelivery();
        const targets = module.checkPullSecretTargets(
            name,
            pullSecret.delivery,
            pullSecret.secretName,
            pullSecret.serviceAccounts,
            component,
        );
        return {
            ready: targets.ready,
            deliver: (grant) => {
                const credentials = { clientId: grant.application.clientId, secret: grant.secret!, loginServers };
                const options = { parent: component, dependsOn: grant.ready };
                const declared = module.deliverPullSecret(name, targets, credentials, options);
                return { pullSecrets: declared.secrets, pullSecretRefs: declared.refs };
            },
        };
    }
    const federated = checked.federated;
    if (federated) {
        const module = federatedPullSecretDelivery();
        const checks = module.checkFederatedTargets(name, federated.delivery, federated.secretName, federated.serviceAccounts, component);
        const environment = args.azureEnvironment ?? "public";
        return {
            ready: checks.targets.ready,
            federation: {
                issuer: checks.issuer,
                subjects: federated.delivery.namespaces.map((namespace) => ({
                    key: namespace,
                    subject: federationSubject(namespace, federated.minter),
                })),
            },
            deliver: (grant) => {
                const declared = module.deliverFederatedPullSecret(
                    name,
                    checks,
                    {
                        clientId: grant.application.clientId,
                        registryTenantId: args.registryTenantId,
                        environment,
                        registries: checked.registries.map((registry, index) => ({
                            registryName: registry.registryName,
                            loginServer: loginServers[index],
                        })),
                    },
                    { minter: federated.minter, refreshInterval: federated.refreshInterval },
                    { parent: component, dependsOn: grant.ready },
                );
                return { pullSecrets: [], pullSecretRefs: declared.refs };
            },
        };
    }
    return { deliver: () => nothing };
}

/**
 * Reads the role-assignment mode of every registry with repository limits through the registry tenant's provider
 * (in previews too): one not in ABAC mode, or whose mode cannot be read, stops the run before anything is created.
 * Undefined when no registry is limited (then nothing is read).
 */
function checkLimitedRegistryModes(
    checked: CheckedArgs,
    providers: RegistryTenantProviders,
    component: pulumi.Resource,
): pulumi.Output<unknown> | undefined {
    const limited = checked.registries.filter((registry) => checked.repositoryLimits.has(registry.registryName.toLowerCase()));
    if (limited.length === 0) return undefined;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { getResource } = require("@pulumi/azure-native/resources") as typeof ResourcesModule;
    const refuse = (message: string): never => refuseRun("registry mode", message, component);
    return pulumi.all(
        limited.map((registry) =>
            pulumi.output(
                getResource(
                    {
                        apiVersion: ROLE_ASSIGNMENT_MODE_API_VERSION,
                        resourceProviderNamespace: "Microsoft.ContainerRegistry",
                        parentResourcePath: "",
                        resourceType: "registries",
                        resourceGroupName: registry.resourceGroupName,
                        resourceName: registry.registryName,
                    },
                    { provider: providers.azureNative, parent: component },
                ).then(
                    (found) => {
                        const mode = (found.properties as { roleAssignmentMode?: string } | undefined)?.roleAssignmentMode;
                        if (mode !== "AbacRepositoryPermissions") refuse(limitsNeedAbacMessage(registry.registryName, mode));
                    },
                    (error: unknown) =>
                        refuse(modeUnreadableMessage(registry.registryName, error instanceof Error ? error.message : String(error))),
                ),
            ),
        ),
    );
}

/** The grant's arguments: the component's, checked, with their defaults. */
function grantArgs(
    args: CrossTenantAcrPullArgs,
    checked: CheckedArgs,
    now: Date,
    after: pulumi.Output<unknown> | undefined,
    federated: GrantArgs["federated"],
): GrantArgs {
    return {
        federated,
        clusterTenantId: args.clusterTenantId,
        registryTenantId: args.registryTenantId,
        registries: checked.registries,
        role: args.registryRole ?? DEFAULT_REGISTRY_ROLE,
        repositoryLimits: checked.repositoryLimits,
        applicationName: args.applicationName,
        applicationOwners: args.applicationOwners ?? [],
        lifetimeDays: args.secretLifetimeDays ?? DEFAULT_SECRET_LIFETIME_DAYS,
        renewBeforeDays: args.secretRenewBeforeDays ?? DEFAULT_SECRET_RENEW_BEFORE_DAYS,
        clusterTenantRoles: checked.clusterTenantRoles,
        registryTenantProviders: args.registryTenantProviders,
        now,
        initialWindowAnchor: args.initialSecretWindowAnchor === undefined ? undefined : new Date(args.initialSecretWindowAnchor),
        stackName: args.stackName,
        after,
    };
}

/**
 * Lets an AKS cluster in one Entra tenant pull from container registries in another: the grant, then its delivery.
 *
 * Cluster-tenant providers come the usual way (`providers`/`provider` options, inherited by every child);
 * registry-tenant providers come in `args.registryTenantProviders`; the Kubernetes provider in `args.imagePullSecret`.
 */
export class CrossTenantAcrPull extends pulumi.ComponentResource {
    /** Client (application) id of the multitenant application. */
    public readonly applicationClientId: pulumi.Output<string>;
    /** Object id of the application in tenant A. */
    public readonly applicationObjectId: pulumi.Output<string>;
    /** Object id of the application's service principal in tenant A (the identity AKS signs in as). */
    public readonly clusterTenantServicePrincipalObjectId: pulumi.Output<string>;
    /** Object id of the application's service principal in tenant B (the principal holding the pull roles). */
    public readonly registryTenantServicePrincipalObjectId: pulumi.Output<string>;
    /** Ids of the pull role assignments: per registry, in `registryIds` order, AcrPull then Repository Reader. */
    public readonly roleAssignmentIds: pulumi.Output<string[]>;
    /** Login servers of the registries (`<name>.azurecr.io`, or the sovereign cloud's suffix), in `registryIds` order. */
    public readonly registryLoginServers: pulumi.Output<string[]>;
    /** When the current client secret expires (ISO 8601, UTC). */
    public readonly secretExpiresAt: pulumi.Output<string | undefined>;
    /** From when the next `pulumi up` mints a new secret (ISO 8601, UTC). */
    public readonly secretRenewsAfter: pulumi.Output<string | undefined>;
    /** The day rotation windows count from (ISO 8601, UTC): the day the component first deployed a secret. */
    public readonly secretWindowAnchor: pulumi.Output<string | undefined>;
    /** Tenant B admin-consent link of the manual procedure, for administrators who want to review the grant. */
    public readonly adminConsentUrl: pulumi.Output<string>;
    /** `{ clientId, secret }` for an AKS `servicePrincipalProfile`. Secret. Undefined with `federatedPullSecret`. */
    public readonly servicePrincipalProfile: pulumi.Output<ServicePrincipalProfile | undefined>;
    /** `namespace/name` of every image pull secret (empty unless `imagePullSecret` was given). */
    public readonly pullSecrets: pulumi.Output<string[]>;

    /** The tenant-A service principal and every role assignment: what must exist before a cluster uses the credentials. */
    public readonly readyForCluster: pulumi.Resource[];
    /** The binding that switched `args.cluster` to the application's credentials, when a cluster was given. */
    public readonly clusterBinding?: ClusterCredentialBinding;
    /** The image pull Secrets, one per namespace, when `imagePullSecret` was given. */
    public readonly pullSecretResources: readonly Secret[];
    /** What every binding needs from this component: the tenant, the cloud and the credentials. */
    private readonly bindingSource?: Pick<ClusterCredentialBindingArgs, "tenantId" | "azureEnvironment" | "clientId" | "secret">;
    /** Client id the bound cluster used before the first switch (empty when no cluster was given). */
    public readonly previousClusterClientId: pulumi.Output<string>;

    constructor(name: string, args: CrossTenantAcrPullArgs, opts?: pulumi.ComponentResourceOptions) {
        // Date.now rather than new Date(): a test of the whole program substitutes the clock there.
        const now = (args.clock ?? (() => new Date(Date.now())))();
        const checked = checkArgs(name, args, now);
        super("aks-acr-cross-tenant:index:CrossTenantAcrPull", name, {}, opts);
        const environment = args.azureEnvironment ?? "public";
        const loginServers = checked.registries.map((registry) => registryLoginServer(registry.registryName, environment));

        // The delivery is checked first (a cluster or a service account it cannot serve stops the run before
        // anything exists), then the grant is declared, then the delivery.
        const delivery = planDelivery(name, args, checked, loginServers, this);
        const modes = checkLimitedRegistryModes(checked, args.registryTenantProviders, this);
        const after = modes === undefined ? delivery.ready : pulumi.all([delivery.ready, modes]);
        const grant = declareGrant(name, grantArgs(args, checked, now, after, delivery.federation), this);

        this.applicationClientId = grant.application.clientId;
        this.applicationObjectId = grant.application.objectId;
        this.clusterTenantServicePrincipalObjectId = grant.clusterTenantPrincipal.objectId;
        this.registryTenantServicePrincipalObjectId = grant.registryTenantPrincipal.objectId;
        this.roleAssignmentIds = pulumi.all(grant.assignments.map((assignment) => assignment.id));
        this.registryLoginServers = pulumi.output(loginServers);
        // A federated grant has no secret: these stay undefined, and so are left out of a stack's outputs.
        this.secretExpiresAt = grant.schedule ? grant.schedule.apply((s) => s.expiresAt) : pulumi.output(undefined);
        this.secretRenewsAfter = grant.schedule ? grant.schedule.apply((s) => s.renewsAfter) : pulumi.output(undefined);
        this.secretWindowAnchor = grant.anchor ?? pulumi.output(undefined);
        this.adminConsentUrl = grant.application.clientId.apply((clientId) =>
            adminConsentUrl(environment, args.registryTenantId, clientId),
        );
        const secret = grant.secret;
        this.servicePrincipalProfile = secret
            ? pulumi.secret(pulumi.all([grant.application.clientId, secret]).apply(([clientId, value]) => ({ clientId, secret: value })))
            : pulumi.output(undefined);
        this.readyForCluster = grant.ready;
        this.bindingSource = secret && {
            tenantId: args.clusterTenantId,
            azureEnvironment: args.azureEnvironment,
            clientId: grant.application.clientId,
            secret,
        };

        const delivered = delivery.deliver(grant);
        this.clusterBinding = delivered.clusterBinding;
        this.previousClusterClientId = delivered.clusterBinding ? delivered.clusterBinding.previousClientId : pulumi.output("");
        this.pullSecretResources = delivered.pullSecrets;
        this.pullSecrets = pulumi.output([...delivered.pullSecretRefs]);

        this.registerOutputs({
            applicationClientId: this.applicationClientId,
            applicationObjectId: this.applicationObjectId,
            clusterTenantServicePrincipalObjectId: this.clusterTenantServicePrincipalObjectId,
            registryTenantServicePrincipalObjectId: this.registryTenantServicePrincipalObjectId,
            roleAssignmentIds: this.roleAssignmentIds,
            registryLoginServers: this.registryLoginServers,
            secretExpiresAt: this.secretExpiresAt,
            secretRenewsAfter: this.secretRenewsAfter,
            secretWindowAnchor: this.secretWindowAnchor,
            adminConsentUrl: this.adminConsentUrl,
            servicePrincipalProfile: this.servicePrincipalProfile,
            pullSecrets: this.pullSecrets,
            previousClusterClientId: this.previousClusterClientId,
        });
    }

    /**
     * Switches a cluster to this application's credentials and keeps it there, after every principal and role
     * assignment of this component exists. The constructor calls it for `args.cluster`; a stack that creates its
     * own cluster calls it afterwards with `{ initialCredentialsApplied: true }` and `dependsOn: [cluster]`, so
     * later secret rotations reach the cluster.
     */
    public bindCluster(
        name: string,
        cluster: ClusterToBind,
        opts?: { readonly dependsOn?: readonly pulumi.Resource[] },
    ): ClusterCredentialBinding {
        const problems: Problem[] = [];
        checkClusterToBind(name, cluster, problems);
        if (this.bindingSource === undefined) {
            problems.push({
                key: name,
                value: "a federated grant",
                expected: "a grant with a client secret: a cluster signs in with one; federatedPullSecret has none",
            });
        }
        throwIfProblems(
            (count) =>
                `Invalid cluster for CrossTenantAcrPull.bindCluster "${name}": ${count} problem${count === 1 ? "" : "s"}; nothing was declared.`,
            problems,
        );
        return clusterServicePrincipalDelivery().bindClusterServicePrincipal(name, cluster, this.bindingSource!, {
            parent: this,
            dependsOn: [...this.readyForCluster, ...(opts?.dependsOn ?? [])],
        });
    }
}
