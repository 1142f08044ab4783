/**
 * CrossTenantAcrPull: lets an AKS cluster in one Entra tenant (A) pull from container registries in another (B).
 *
 * It is a grant plus a delivery. The grant (`grant.ts`) is Microsoft's manual procedure as code: a multitenant
 * application and its secret in tenant A, its service principal in both tenants, a pull role on every registry in
 * tenant B. The delivery hands the credentials to the cluster; each is a folder under `deliveries/` behind one
 * interface (`deliveries/delivery.ts`), and this component knows them only through that and their table
 * (`deliveries/index.ts`): which argument chooses one, its checks, and its plan, checked before the grant is
 * declared and declared after it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Secret } from "@pulumi/kubernetes/core/v1";
import { adminConsentUrl, isAzureEnvironment, registryLoginServer, type AzureEnvironment, type RegistryId } from "./azureIds";
import type { ClusterCredentialBinding, ClusterCredentialBindingArgs } from "./clusterBinding";
import { DELIVERY_TABLE, type DeliveryArguments } from "./deliveries";
import type { AnyDelivery, PlannedDelivery } from "./deliveries/delivery";
import {
    checkClusterToBind,
    declarations as clusterServicePrincipalDeclarations,
    type ClusterToBind,
} from "./deliveries/clusterServicePrincipal";
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
import { declareGrant, type GrantArgs, type RegistryTenantProviders } from "./grant";
import {
    checkApplicationName,
    checkAzureEnvironment,
    checkClusterTenantRoles,
    checkGuid,
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

export type { ClusterToBind } from "./deliveries/clusterServicePrincipal";
export type { ImagePullSecretDelivery } from "./deliveries/imagePullSecret";
export type { FederatedPullSecretDelivery } from "./deliveries/federatedPullSecret";
export type { RegistryTenantProviders } from "./grant";

export interface CrossTenantAcrPullArgs extends DeliveryArguments {
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

/** The component's arguments, checked and parsed once. */
interface CheckedArgs {
    readonly registries: RegistryId[];
    /** Keyed by lower-case registry name. */
    readonly repositoryLimits: ReadonlyMap<string, RepositoryLimits>;
    readonly clusterTenantRoles: ResolvedClusterTenantRole[];
    /** The delivery the arguments choose (the table's default when none is given), and its argument, checked. */
    readonly delivery: AnyDelivery;
    readonly deliveryArgument: unknown;
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
    // Every delivery whose argument is given checks it; at most one may be given.
    const given = DELIVERY_TABLE.filter((delivery) => delivery.argument !== undefined && args[delivery.argument.key] !== undefined);
    const checkedArguments = given.map((delivery) =>
        delivery.checkArgument(delivery.argument!.key, args[delivery.argument!.key], problems),
    );
    if (given.length > 1) {
        const choices = DELIVERY_TABLE.flatMap((delivery) =>
            delivery.argument ? [`${delivery.argument.key} (${delivery.argument.summary})`] : [],
        );
        problems.push({
            key: given[1].argument!.key,
            value: `given together with ${given[0].argument!.key}`,
            expected: `one delivery: ${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`,
        });
    }
    const withoutRoles = given.find((delivery) => !delivery.clusterTenantRoles);
    if (withoutRoles && clusterTenantRoles.length > 0) {
        problems.push({
            key: "clusterTenantRoles",
            value: `${clusterTenantRoles.length} role(s)`,
            expected: `no cluster-tenant roles with ${withoutRoles.argument!.key}: they exist for a cluster that signs in as the application`,
        });
    }
    const withoutSecret = given.find((delivery) => !delivery.secret);
    if (withoutSecret) {
        for (const key of ["secretLifetimeDays", "secretRenewBeforeDays", "initialSecretWindowAnchor"] as const) {
            if (args[key] !== undefined) {
                problems.push({
                    key,
                    value: show(args[key]),
                    expected: `no ${key} with ${withoutSecret.argument!.key}: it has no secret to renew`,
                });
            }
        }
    }
    throwIfProblems(
        (count) => `Invalid arguments for CrossTenantAcrPull "${name}": ${count} problem${count === 1 ? "" : "s"}; nothing was declared.`,
        problems,
    );
    const delivery = given[0] ?? DELIVERY_TABLE.find((candidate) => candidate.argument === undefined)!;
    return { registries, repositoryLimits, clusterTenantRoles, delivery, deliveryArgument: checkedArguments[0] };
}

/**
 * Plans the delivery the arguments chose: it starts its checks now, and says what it adds to the grant and what it
 * declares once the grant exists. Each delivery loads its declarations (and their SDKs) only when planned.
 */
function planDelivery(
    name: string,
    args: CrossTenantAcrPullArgs,
    checked: CheckedArgs,
    loginServers: readonly string[],
    component: CrossTenantAcrPull,
): PlannedDelivery {
    return checked.delivery.plan(checked.deliveryArgument, {
        name,
        component,
        registryTenantId: args.registryTenantId,
        environment: args.azureEnvironment ?? "public",
        registries: checked.registries,
        loginServers,
    });
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
        secretConsequences: checked.delivery.secretConsequences,
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
    /** `namespace/name` of every pull secret in the cluster: with `imagePullSecret` and `federatedPullSecret`, else empty. */
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
        return clusterServicePrincipalDeclarations().bindClusterServicePrincipal(name, cluster, this.bindingSource!, {
            parent: this,
            dependsOn: [...this.readyForCluster, ...(opts?.dependsOn ?? [])],
        });
    }
}
