/**
 * The cross-tenant pull grant: a multitenant application and its secret in the cluster's tenant (A), its service
 * principal in both tenants, and a pull role on every registry in the registry tenant (B). It is Microsoft's
 * manual procedure for pulling from a registry in another Entra tenant, as one component.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import { RoleAssignment } from "@pulumi/azure-native/authorization";
import type { Provider as AzureNativeProvider } from "@pulumi/azure-native/provider";
import {
    CONSENT_REDIRECT_URI,
    REGISTRY_ROLES,
    adminConsentUrl,
    isClusterName,
    isResourceGroupName,
    roleDefinitionId,
    type AzureEnvironment,
    type RegistryId,
    type RegistryRole,
} from "./azureIds";
import { hashAnchor, secretSchedule, startOfDay } from "./secretSchedule";
import { secretHealth, type DeployedSecretDates } from "./secretHealth";
import { ClusterCredentialBinding, type ClusterCredentialBindingArgs } from "./clusterBinding";
import {
    checkApplicationName,
    checkAzureEnvironment,
    checkClusterTenantRoles,
    checkGuid,
    checkObjectIds,
    checkRegistryIds,
    checkRegistryRole,
    checkSecretLifetime,
    checkTenantsDiffer,
    show,
    throwIfProblems,
    type ClusterTenantRole,
    type Problem,
    type ResolvedClusterTenantRole,
} from "./validation";

/** The registry tenant's providers, passed explicitly because the component's own providers act in the cluster tenant. */
export interface RegistryTenantProviders {
    /** azuread provider signed in to the registry tenant (B); creates the service principal there. */
    readonly azuread: azuread.Provider;
    /** azure-native provider signed in to the registry tenant (B); creates the role assignments. */
    readonly azureNative: AzureNativeProvider;
}

/**
 * An existing AKS cluster in tenant A to switch to the application's credentials: the binding's arguments less
 * what the component supplies (tenant, cloud, client id and secret).
 */
export type ClusterToBind = Omit<ClusterCredentialBindingArgs, "tenantId" | "azureEnvironment" | "clientId" | "secret">;

export interface CrossTenantAcrPullArgs {
    /** Entra tenant id of the AKS cluster (tenant A), where the application and its secret live. */
    readonly clusterTenantId: string;
    /** Entra tenant id of the registries (tenant B); must differ from `clusterTenantId`. */
    readonly registryTenantId: string;
    /** Resource ids of the container registries in tenant B; they may span several subscriptions. */
    readonly registryIds: readonly string[];
    /** Pull role granted on each registry. Default `AcrPull`; ABAC-mode registries need `ContainerRegistryRepositoryReader`. */
    readonly registryRole?: RegistryRole;
    /** Display name of the Entra application. */
    readonly applicationName: string;
    /** Object ids of extra owners of the application (the deploying identity owns it anyway). */
    readonly applicationOwners?: readonly string[];
    /** Lifetime of each client secret in days, 1..730. Default 180. */
    readonly secretLifetimeDays?: number;
    /** Days before expiry at which a `pulumi up` renews the secret; less than the lifetime. Default 30. */
    readonly secretRenewBeforeDays?: number;
    /** Azure cloud, for the admin-consent link. Default `public`. */
    readonly azureEnvironment?: AzureEnvironment;
    /**
     * Switch this existing cluster to the application's credentials, after every role assignment exists.
     * Omit it for a cluster this stack owns: feed `servicePrincipalProfile` to its ManagedCluster instead.
     */
    readonly cluster?: ClusterToBind;
    /**
     * Roles the cluster's previous principal held in tenant A (for example NetworkContributor on a custom VNet
     * subnet), granted to the application's tenant-A principal before the switch through the cluster-tenant provider.
     */
    readonly clusterTenantRoles?: readonly ClusterTenantRole[];
    /** The registry tenant's providers (the "aliased" tenant-B providers). */
    readonly registryTenantProviders: RegistryTenantProviders;
    /** Clock used for the secret schedule; tests inject one. Default: the system clock. */
    readonly clock?: () => Date;
    /**
     * The secret currently deployed, typically this stack's own previous `secretExpiresAt`, `secretRenewsAfter` and
     * `secretWindowAnchor` outputs (empty on the first deployment). When given, rotation windows count from the
     * deployed anchor (from today on the first deployment, so the first secret gets a full window), and the
     * component warns once renewal is due and reports an error-level message once the secret has expired, in
     * previews as in updates. Without it, windows count from an anchor derived from the tenant and application
     * name.
     */
    readonly deployedSecret?: pulumi.Input<DeployedSecretDates | undefined>;
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

/**
 * Checks the component's arguments with the same rules as the stack config, before anything is declared, and
 * returns the parsed registries and cluster-tenant roles so they are parsed once.
 */
function checkArgs(
    name: string,
    args: CrossTenantAcrPullArgs,
): { readonly registries: RegistryId[]; readonly clusterTenantRoles: ResolvedClusterTenantRole[] } {
    const problems: Problem[] = [];
    checkGuid("clusterTenantId", args.clusterTenantId, "a tenant id", problems);
    checkGuid("registryTenantId", args.registryTenantId, "a tenant id", problems);
    checkTenantsDiffer(args.clusterTenantId, args.registryTenantId, "registryTenantId", problems);
    const registries = checkRegistryIds("registryIds", args.registryIds, problems);
    checkRegistryRole("registryRole", args.registryRole ?? "AcrPull", problems);
    checkApplicationName("applicationName", args.applicationName, problems);
    checkObjectIds("applicationOwners", args.applicationOwners ?? [], problems);
    checkSecretLifetime(
        { lifetime: "secretLifetimeDays", renewBefore: "secretRenewBeforeDays" },
        args.secretLifetimeDays ?? DEFAULT_SECRET_LIFETIME_DAYS,
        args.secretRenewBeforeDays ?? DEFAULT_SECRET_RENEW_BEFORE_DAYS,
        problems,
    );
    checkAzureEnvironment("azureEnvironment", args.azureEnvironment ?? "public", problems);
    const clusterTenantRoles = checkClusterTenantRoles("clusterTenantRoles", args.clusterTenantRoles ?? [], problems);
    if (args.cluster) {
        checkClusterToBind("cluster", args.cluster, problems);
    }
    throwIfProblems(
        (count) => `Invalid arguments for CrossTenantAcrPull "${name}": ${count} problem${count === 1 ? "" : "s"}; nothing was declared.`,
        problems,
    );
    return { registries, clusterTenantRoles };
}

/** A short stable suffix for names keyed by content rather than list position. */
function shortHash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/**
 * Lets an AKS cluster in one Entra tenant pull from container registries in another.
 *
 * Cluster-tenant providers come the usual way (`providers`/`provider` options, inherited by every child);
 * registry-tenant providers come in `args.registryTenantProviders`.
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
    /** Ids of the pull role assignments, one per registry, in `registryIds` order. */
    public readonly roleAssignmentIds: pulumi.Output<string[]>;
    /** When the current client secret expires (ISO 8601, UTC). */
    public readonly secretExpiresAt: pulumi.Output<string>;
    /** From when the next `pulumi up` mints a new secret (ISO 8601, UTC). */
    public readonly secretRenewsAfter: pulumi.Output<string>;
    /** The day rotation windows count from (ISO 8601, UTC); feed it back through `deployedSecret.windowAnchor`. */
    public readonly secretWindowAnchor: pulumi.Output<string>;
    /** Tenant B admin-consent link of the manual procedure, for administrators who want to review the grant. */
    public readonly adminConsentUrl: pulumi.Output<string>;
    /** `{ clientId, secret }` for an AKS `servicePrincipalProfile`. Secret. */
    public readonly servicePrincipalProfile: pulumi.Output<ServicePrincipalProfile>;

    /** The tenant-A service principal and every role assignment: what must exist before a cluster uses the credentials. */
    public readonly readyForCluster: pulumi.Resource[];
    /** The binding that switched `args.cluster` to the application's credentials, when a cluster was given. */
    public readonly clusterBinding?: ClusterCredentialBinding;
    /** What every binding needs from this component: the tenant, the cloud and the credentials. */
    private readonly bindingSource: Pick<ClusterCredentialBindingArgs, "tenantId" | "azureEnvironment" | "clientId" | "secret">;
    /** Client id the bound cluster used before the first switch (empty when no cluster was given). */
    public readonly previousClusterClientId: pulumi.Output<string>;

    constructor(name: string, args: CrossTenantAcrPullArgs, opts?: pulumi.ComponentResourceOptions) {
        const { registries, clusterTenantRoles } = checkArgs(name, args);
        super("aks-acr-cross-tenant:index:CrossTenantAcrPull", name, {}, opts);

        const role = args.registryRole ?? "AcrPull";
        const registryTenant = args.registryTenantProviders;
        const now = (args.clock ?? (() => new Date()))();
        const lifetimeDays = args.secretLifetimeDays ?? DEFAULT_SECRET_LIFETIME_DAYS;
        const renewBeforeDays = args.secretRenewBeforeDays ?? DEFAULT_SECRET_RENEW_BEFORE_DAYS;
        const deployed = args.deployedSecret === undefined ? undefined : pulumi.output(args.deployedSecret);
        // ISO strings, not Dates, inside outputs: pulumi.output unwraps a Date into an empty object.
        const anchor: pulumi.Output<string> =
            deployed === undefined
                ? pulumi.output(
                      hashAnchor(
                          `${args.clusterTenantId}/${args.applicationName}`.toLowerCase(),
                          lifetimeDays,
                          renewBeforeDays,
                      ).toISOString(),
                  )
                : deployed.apply((dates) => {
                      const stored = dates?.windowAnchor ? new Date(dates.windowAnchor) : undefined;
                      return startOfDay(stored && !Number.isNaN(stored.getTime()) ? stored : now).toISOString();
                  });
        const schedule = anchor.apply((day) => {
            const { windowStart, renewsAfter, expiresAt } = secretSchedule({ now, lifetimeDays, renewBeforeDays, anchor: new Date(day) });
            return { windowStart: windowStart.toISOString(), renewsAfter: renewsAfter.toISOString(), expiresAt: expiresAt.toISOString() };
        });

        const application = new azuread.Application(
            `${name}-app`,
            {
                displayName: args.applicationName,
                signInAudience: "AzureADMultipleOrgs",
                owners: args.applicationOwners && args.applicationOwners.length > 0 ? [...args.applicationOwners] : undefined,
                // The consent link redirects here; Entra matches it exactly, so both use the same constant.
                web: { redirectUris: [CONSENT_REDIRECT_URI] },
                notes: `Lets AKS in tenant ${args.clusterTenantId} pull from container registries in tenant ${args.registryTenantId}. Managed by Pulumi; its secret rotates automatically.`,
            },
            { parent: this },
        );

        // Graph creates no service principal in the home tenant (the portal does); AKS signs in as this one.
        const clusterTenantPrincipal = new azuread.ServicePrincipal(
            `${name}-cluster-sp`,
            { clientId: application.clientId },
            { parent: this },
        );

        // The end date comes from the rotation window, so it is stable across runs until renewal is due;
        // the old password is deleted only after its replacement exists (create-before-delete, the default).
        const password = new azuread.ApplicationPassword(
            `${name}-secret`,
            {
                applicationId: application.id,
                displayName: schedule.apply((s) => `aks-acr-pull ${s.windowStart.slice(0, 10)}`),
                endDate: schedule.apply((s) => s.expiresAt),
            },
            { parent: this, additionalSecretOutputs: ["value"] },
        );

        // Provisioning the application in tenant B is what the manual procedure's admin consent does.
        const registryTenantPrincipal = new azuread.ServicePrincipal(
            `${name}-registry-sp`,
            { clientId: application.clientId },
            { parent: this, provider: registryTenant.azuread },
        );

        // One assignment per registry, at the registry's own scope (least privilege). Names key on the registry
        // name (globally unique), so reordering the list changes nothing.
        const assignments = registries.map(
            (registry) =>
                new RoleAssignment(
                    `${name}-${registry.registryName.toLowerCase()}-pull`,
                    {
                        scope: registry.id,
                        roleDefinitionId: roleDefinitionId(registry.subscriptionId, REGISTRY_ROLES[role]),
                        principalId: registryTenantPrincipal.objectId,
                        // The default "User" fails for a service principal, and this also avoids
                        // PrincipalNotFound while the new principal replicates.
                        principalType: "ServicePrincipal",
                        description: `${role} for AKS in tenant ${args.clusterTenantId} (application ${args.applicationName})`,
                    },
                    { parent: this, provider: registryTenant.azureNative },
                ),
        );

        // Roles the cluster's own principal needs in tenant A, through the component's (tenant A) provider.
        const clusterTenantAssignments = clusterTenantRoles.map(
            (role) =>
                new RoleAssignment(
                    `${name}-cluster-role-${shortHash(`${role.scope.toLowerCase()}|${role.roleGuid}`)}`,
                    {
                        scope: role.scope,
                        roleDefinitionId: roleDefinitionId(role.subscriptionId, role.roleGuid),
                        principalId: clusterTenantPrincipal.objectId,
                        principalType: "ServicePrincipal",
                        description: `${role.role} for the AKS cluster's service principal (application ${args.applicationName})`,
                    },
                    { parent: this },
                ),
        );

        if (deployed !== undefined) {
            const stack = args.stackName ?? pulumi.getStack();
            deployed.apply((dates) => {
                const health = secretHealth(dates ?? {}, now, stack);
                if (health.level === "renewal-due") {
                    void pulumi.log.warn(health.message, this);
                } else if (health.level === "expired") {
                    // Error level, yet not thrown: the same run is what renews the secret.
                    void pulumi.log.error(health.message, this);
                }
            });
        }

        const secretValue = pulumi.secret(password.value);
        this.applicationClientId = application.clientId;
        this.applicationObjectId = application.objectId;
        this.clusterTenantServicePrincipalObjectId = clusterTenantPrincipal.objectId;
        this.registryTenantServicePrincipalObjectId = registryTenantPrincipal.objectId;
        this.roleAssignmentIds = pulumi.all(assignments.map((assignment) => assignment.id));
        this.secretExpiresAt = schedule.apply((s) => s.expiresAt);
        this.secretRenewsAfter = schedule.apply((s) => s.renewsAfter);
        this.secretWindowAnchor = anchor;
        this.adminConsentUrl = application.clientId.apply((clientId) =>
            adminConsentUrl(args.azureEnvironment ?? "public", args.registryTenantId, clientId),
        );
        this.servicePrincipalProfile = pulumi.secret(
            pulumi.all([application.clientId, secretValue]).apply(([clientId, secret]) => ({ clientId, secret })),
        );
        this.readyForCluster = [clusterTenantPrincipal, ...assignments, ...clusterTenantAssignments];

        this.bindingSource = {
            tenantId: args.clusterTenantId,
            azureEnvironment: args.azureEnvironment,
            clientId: application.clientId,
            secret: secretValue,
        };
        if (args.cluster) {
            this.clusterBinding = this.bindCluster(`${name}-cluster-binding`, args.cluster);
        }
        this.previousClusterClientId = this.clusterBinding ? this.clusterBinding.previousClientId : pulumi.output("");

        this.registerOutputs({
            applicationClientId: this.applicationClientId,
            applicationObjectId: this.applicationObjectId,
            clusterTenantServicePrincipalObjectId: this.clusterTenantServicePrincipalObjectId,
            registryTenantServicePrincipalObjectId: this.registryTenantServicePrincipalObjectId,
            roleAssignmentIds: this.roleAssignmentIds,
            secretExpiresAt: this.secretExpiresAt,
            secretRenewsAfter: this.secretRenewsAfter,
            secretWindowAnchor: this.secretWindowAnchor,
            adminConsentUrl: this.adminConsentUrl,
            servicePrincipalProfile: this.servicePrincipalProfile,
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
        throwIfProblems(
            (count) =>
                `Invalid cluster for CrossTenantAcrPull.bindCluster "${name}": ${count} problem${count === 1 ? "" : "s"}; nothing was declared.`,
            problems,
        );
        // The switch waits for every principal and role assignment, so the cluster never runs on credentials
        // that cannot pull or cannot manage its network.
        const dependsOn = [...this.readyForCluster, ...(opts?.dependsOn ?? [])];
        return new ClusterCredentialBinding(name, { ...cluster, ...this.bindingSource }, { parent: this, dependsOn });
    }
}
