/**
 * CrossGuard policies for cross-tenant registry access. They live apart from the PolicyPack entry
 * (`policy/index.ts`), whose construction starts a gRPC server, so tests call them directly.
 */
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

export const ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";
export const APPLICATION = "azuread:index/application:Application";
export const APPLICATION_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword";
export const SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal";

/** Registry pull roles: AcrPull and Container Registry Repository Reader. */
const ACR_PULL_GUID = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
const REPOSITORY_READER_GUID = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
const PULL_ROLE_GUIDS = [ACR_PULL_GUID, REPOSITORY_READER_GUID];
/** What a repository condition must restrict and match on (Microsoft's ACR ABAC grammar). */
const REPOSITORY_READER_DATA_ACTIONS = [
    "Microsoft.ContainerRegistry/registries/repositories/content/read",
    "Microsoft.ContainerRegistry/registries/repositories/metadata/read",
];
const REPOSITORY_NAME_ATTRIBUTE = "@Request[Microsoft.ContainerRegistry/registries/repositories:name]";
const REGISTRY_SCOPE = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+$/i;
const MULTITENANT_AUDIENCES = ["AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"];

/** Default ceiling of a client secret's lifetime, the longest the Entra portal offers. */
export const DEFAULT_MAX_SECRET_LIFETIME_DAYS = 730;

type Props = Record<string, unknown>;

/** A role assignment without principalType defaults to "User", which fails for service principals. */
export const roleAssignmentsSetPrincipalType: ResourceValidationPolicy = {
    name: "role-assignment-sets-principal-type",
    description: "Role assignments set principalType (the default, User, fails for service principals and races directory replication).",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type === ROLE_ASSIGNMENT && !(args.props as Props).principalType) {
            reportViolation(`Role assignment "${args.name}" does not set principalType; set it (ServicePrincipal for an application).`);
        }
    },
};

/** Pull roles granted wider than one registry give access to every registry under the scope. */
export const pullRolesAtRegistryScope: ResourceValidationPolicy = {
    name: "pull-roles-at-registry-scope",
    description: "AcrPull and Container Registry Repository Reader are granted on one registry, never on a resource group or subscription.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== ROLE_ASSIGNMENT) {
            return;
        }
        const props = args.props as Props;
        const roleDefinitionId = typeof props.roleDefinitionId === "string" ? props.roleDefinitionId.toLowerCase() : "";
        const scope = typeof props.scope === "string" ? props.scope : undefined;
        if (PULL_ROLE_GUIDS.some((guid) => roleDefinitionId.endsWith(guid)) && scope !== undefined && !REGISTRY_SCOPE.test(scope)) {
            reportViolation(
                `Role assignment "${args.name}" grants a registry pull role at ${scope}; grant it on each registry's resource id instead.`,
            );
        }
    },
};

/**
 * A condition on a registry pull role limits it to repositories: only Repository Reader takes one (AcrPull has no
 * data actions a condition could restrict, and RBAC-only registries ignore conditions), at version 2.0, restricting
 * both of the role's data actions and matching on the request's repository name. Anything else would grant more, or
 * other, than the repositories it names.
 */
export const pullRoleConditionsLimitRepositories: ResourceValidationPolicy = {
    name: "pull-role-conditions-limit-repositories",
    description:
        "Conditions on registry pull roles are repository limits on Container Registry Repository Reader (version 2.0, both data actions, repository names); AcrPull takes none.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== ROLE_ASSIGNMENT) return;
        const props = args.props as Props;
        const roleDefinitionId = typeof props.roleDefinitionId === "string" ? props.roleDefinitionId.toLowerCase() : "";
        const condition = typeof props.condition === "string" ? props.condition : undefined;
        if (condition === undefined || !PULL_ROLE_GUIDS.some((guid) => roleDefinitionId.endsWith(guid))) return;
        if (roleDefinitionId.endsWith(ACR_PULL_GUID)) {
            reportViolation(
                `Role assignment "${args.name}" puts a condition on AcrPull, which no condition can limit; limit Repository Reader instead.`,
            );
            return;
        }
        const problems: string[] = [];
        if (props.conditionVersion !== "2.0") problems.push(`conditionVersion is ${JSON.stringify(props.conditionVersion)}, not "2.0"`);
        for (const action of REPOSITORY_READER_DATA_ACTIONS) {
            if (!condition.includes(`!(ActionMatches{'${action}'})`)) problems.push(`it does not restrict ${action}`);
        }
        if (!condition.includes(REPOSITORY_NAME_ATTRIBUTE)) problems.push(`it does not match on ${REPOSITORY_NAME_ATTRIBUTE}`);
        if (problems.length > 0) {
            reportViolation(`Role assignment "${args.name}" has a condition that is not a repository limit: ${problems.join("; ")}.`);
        }
    },
};

/** Secrets must expire, and within the tenant's policy. */
export const passwordsExpireWithinMaximum: ResourceValidationPolicy = {
    name: "application-password-expires-within-maximum",
    description: "Application passwords have an endDate no further away than maxLifetimeDays.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { maxLifetimeDays: { type: "integer", default: DEFAULT_MAX_SECRET_LIFETIME_DAYS, minimum: 1 } },
    },
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== APPLICATION_PASSWORD) {
            return;
        }
        const { maxLifetimeDays } = args.getConfig<{ maxLifetimeDays: number }>();
        const endDate = (args.props as Props).endDate;
        if (typeof endDate !== "string" || Number.isNaN(Date.parse(endDate))) {
            reportViolation(`Application password "${args.name}" has no endDate; set one within ${maxLifetimeDays} days.`);
            return;
        }
        const latest = Date.now() + maxLifetimeDays * 86_400_000;
        if (Date.parse(endDate) > latest) {
            reportViolation(`Application password "${args.name}" ends ${endDate}, more than ${maxLifetimeDays} days from now.`);
        }
    },
};

function tenantOf(resource: PolicyResource): string | undefined {
    const tenantId = (resource.provider?.props as Props | undefined)?.tenantId;
    return typeof tenantId === "string" ? tenantId.toLowerCase() : undefined;
}

/** An application with a service principal in a tenant other than its own must accept sign-ins from other tenants. */
export const crossTenantApplicationsAreMultitenant: StackValidationPolicy = {
    name: "cross-tenant-application-is-multitenant",
    description: "An application whose service principal lives in another tenant has signInAudience AzureADMultipleOrgs.",
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const principals = args.resources.filter((resource) => resource.type === SERVICE_PRINCIPAL);
        for (const application of args.resources.filter((resource) => resource.type === APPLICATION)) {
            const home = tenantOf(application);
            const foreign = principals.filter(
                (principal) =>
                    principal.dependencies.some((dependency) => dependency.urn === application.urn) && tenantOf(principal) !== home,
            );
            const audience = (application.props as Props).signInAudience;
            if (foreign.length > 0 && !MULTITENANT_AUDIENCES.includes(String(audience))) {
                reportViolation(
                    `Application "${application.name}" has a service principal in another tenant (${foreign.map((p) => p.name).join(", ")}) but signInAudience is ${typeof audience === "string" ? audience : "AzureADMyOrg"}; set AzureADMultipleOrgs.`,
                    application.urn,
                );
            }
        }
    },
};

export const policies = [
    roleAssignmentsSetPrincipalType,
    pullRolesAtRegistryScope,
    pullRoleConditionsLimitRepositories,
    passwordsExpireWithinMaximum,
    crossTenantApplicationsAreMultitenant,
];
