/**
 * Which pull roles each registry gets, as pure functions: the role-assignment modes of Azure Container Registry, the
 * `registryRole` choice, and repository limits as an ABAC condition.
 *
 * A registry is in one of two modes (`properties.roleAssignmentMode`, ARM API 2025-11-01): "RBAC Registry
 * Permissions" (`LegacyRegistryPermissions`) honours only `AcrPull` (and AcrPush, AcrDelete); "RBAC Registry + ABAC
 * Repository Permissions" (`AbacRepositoryPermissions`, which Microsoft says will become the default) honours only
 * `Container Registry Repository Reader` (and its Writer and Contributor). Both roles are pull-only: AcrPull's one
 * action is `registries/pull/read`; Repository Reader's two data actions are `repositories/content/read` and
 * `repositories/metadata/read` (Microsoft's ACR role directory and "Azure built-in roles for Containers"). So the
 * default assigns both at each registry's own scope, and pulls keep working whichever mode a registry is in and
 * through a switch in either direction, with nothing beyond pull.
 *
 * Repository limits exist only in ABAC mode: a condition on the Repository Reader assignment, in the grammar the ACR
 * docs give, naming repositories (`StringEqualsIgnoreCase`) or prefixes ending in `/` (`StringStartsWithIgnoreCase`).
 * AcrPull cannot be limited, so a limited registry never gets it.
 */
import { REGISTRY_ROLES, type RegistryId, type RegistryRole } from "./azureIds";
import { show, type Problem } from "./validation";

/** What `registryRole` may say: both pull roles (the default), or exactly one. */
export const REGISTRY_ROLE_CHOICES = ["AcrPullAndRepositoryReader", "AcrPull", "ContainerRegistryRepositoryReader"] as const;
export type RegistryRoleChoice = (typeof REGISTRY_ROLE_CHOICES)[number];
export const DEFAULT_REGISTRY_ROLE: RegistryRoleChoice = "AcrPullAndRepositoryReader";

export const REGISTRY_ROLE_CHOICE_FORM =
    "one of AcrPullAndRepositoryReader (both pull roles, so pulls work in either role-assignment mode; the default), AcrPull (registries in RBAC Registry Permissions mode), ContainerRegistryRepositoryReader (registries in RBAC Registry + ABAC Repository Permissions mode)";

export function isRegistryRoleChoice(value: string): value is RegistryRoleChoice {
    return (REGISTRY_ROLE_CHOICES as readonly string[]).includes(value);
}

export function checkRegistryRole(key: string, value: string, problems: Problem[]): void {
    if (!isRegistryRoleChoice(value)) {
        problems.push({ key, value: show(value), expected: REGISTRY_ROLE_CHOICE_FORM });
    }
}

/** The data actions of Container Registry Repository Reader: a condition must restrict every one of them. */
export const REPOSITORY_READER_DATA_ACTIONS = [
    "Microsoft.ContainerRegistry/registries/repositories/content/read",
    "Microsoft.ContainerRegistry/registries/repositories/metadata/read",
] as const;

/** The request attribute ACR evaluates a repository condition on. */
export const REPOSITORY_NAME_ATTRIBUTE = "@Request[Microsoft.ContainerRegistry/registries/repositories:name]";

/** The only condition version Azure accepts. */
export const CONDITION_VERSION = "2.0";

/** One path component of an OCI repository name (distribution-spec `<name>`): lower-case, with inner separators. */
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const REPOSITORY_NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

export const REPOSITORY_LIMIT_FORM =
    "<registry name>/<repository> or <registry name>/<prefix>/ (a prefix ends in '/'), the registry one of registryIds, the repository in ACR's naming rules: lower-case letters and digits, with '.', '_', '__' or '-' between them and '/' between path components";

/** The repositories and prefixes one registry's pulls are limited to. */
export interface RepositoryLimits {
    /** Exact repository names. */
    readonly repositories: readonly string[];
    /** Prefixes, each ending in `/`. */
    readonly prefixes: readonly string[];
}

/**
 * Parses the repository limits (`<registry>/<repository>` or `<registry>/<prefix>/`), keyed by the registry's
 * lower-case name, pushing a problem for each entry that is malformed, names a registry not listed, repeats, or
 * would exceed the 255 characters of login server, `/` and name that registry clients accept.
 */
export function checkRepositoryLimits(
    key: string,
    values: readonly unknown[],
    registries: readonly RegistryId[],
    loginServer: (registryName: string) => string,
    problems: Problem[],
): Map<string, RepositoryLimits> {
    const known = new Map(registries.map((registry) => [registry.registryName.toLowerCase(), registry]));
    const limits = new Map<string, { repositories: string[]; prefixes: string[] }>();
    const seen = new Set<string>();
    values.forEach((value, index) => {
        const itemKey = `${key}[${index}]`;
        const bad = (expected: string): void => void problems.push({ key: itemKey, value: show(value), expected });
        if (typeof value !== "string") return bad(REPOSITORY_LIMIT_FORM);
        const slash = value.indexOf("/");
        const registryName = slash < 0 ? value : value.slice(0, slash);
        const rest = slash < 0 ? "" : value.slice(slash + 1);
        const registry = known.get(registryName.toLowerCase());
        if (registry === undefined) {
            return bad(`${REPOSITORY_LIMIT_FORM}; "${registryName}" is not a registry of registryIds (${[...known.keys()].join(", ")})`);
        }
        const prefix = rest.endsWith("/");
        const name = prefix ? rest.slice(0, -1) : rest;
        if (!REPOSITORY_NAME.test(name)) return bad(REPOSITORY_LIMIT_FORM);
        if (loginServer(registry.registryName).length + 1 + rest.length > 255) {
            return bad(`${REPOSITORY_LIMIT_FORM}; login server, '/' and name may be at most 255 characters`);
        }
        const normalized = `${registry.registryName.toLowerCase()}/${rest}`;
        if (seen.has(normalized)) return bad(`${REPOSITORY_LIMIT_FORM}; each once`);
        seen.add(normalized);
        const entry = limits.get(registry.registryName.toLowerCase()) ?? { repositories: [], prefixes: [] };
        (prefix ? entry.prefixes : entry.repositories).push(rest);
        limits.set(registry.registryName.toLowerCase(), entry);
    });
    // Sorted, so the condition text is the same whatever order the config lists them in.
    return new Map(
        [...limits].map(([name, entry]) => [name, { repositories: entry.repositories.sort(), prefixes: entry.prefixes.sort() }]),
    );
}

/**
 * The ABAC condition that limits Repository Reader to the given repositories and prefixes, in the form the ACR docs
 * give ("RBAC Registry + ABAC Repository Permissions": every data action of the role restricted, or the request's
 * repository name matching one of the entries).
 */
export function repositoryCondition(limits: RepositoryLimits): string {
    const actions = REPOSITORY_READER_DATA_ACTIONS.map((action) => `!(ActionMatches{'${action}'})`).join(" AND ");
    const matches = [
        ...limits.repositories.map((name) => `${REPOSITORY_NAME_ATTRIBUTE} StringEqualsIgnoreCase '${name}'`),
        ...limits.prefixes.map((prefix) => `${REPOSITORY_NAME_ATTRIBUTE} StringStartsWithIgnoreCase '${prefix}'`),
    ].join(" OR ");
    return `((${actions}) OR (${matches}))`;
}

/** One role assignment a registry gets. */
export interface PlannedAssignment {
    /** Suffix of the assignment's Pulumi name after the registry's name. */
    readonly suffix: "pull" | "repository-reader";
    readonly role: RegistryRole;
    readonly roleGuid: string;
    /** With repository limits: the condition and its version. */
    readonly condition?: string;
}

/**
 * The assignments of one registry. The first pull role keeps the name every earlier version gave the one assignment
 * (`<registry>-pull`), so a deployed stack keeps it as it is; the second role of the default is `-repository-reader`.
 * A registry with repository limits gets only the conditioned Repository Reader: AcrPull would open every repository.
 */
export function plannedAssignments(choice: RegistryRoleChoice, limits: RepositoryLimits | undefined): PlannedAssignment[] {
    const condition = limits === undefined ? undefined : repositoryCondition(limits);
    const reader = (suffix: PlannedAssignment["suffix"]): PlannedAssignment => ({
        suffix,
        role: "ContainerRegistryRepositoryReader",
        roleGuid: REGISTRY_ROLES.ContainerRegistryRepositoryReader,
        ...(condition === undefined ? {} : { condition }),
    });
    const acrPull: PlannedAssignment = { suffix: "pull", role: "AcrPull", roleGuid: REGISTRY_ROLES.AcrPull };
    switch (choice) {
        case "AcrPull":
            return [acrPull];
        case "ContainerRegistryRepositoryReader":
            return [reader("pull")];
        default:
            return limits === undefined ? [acrPull, reader("repository-reader")] : [reader("repository-reader")];
    }
}

/** A problem when the role choice cannot honour repository limits (AcrPull alone cannot be limited). */
export function checkRoleTakesLimits(key: string, choice: string, hasLimits: boolean, problems: Problem[]): void {
    if (hasLimits && choice === "AcrPull") {
        problems.push({
            key,
            value: show(choice),
            expected: `${REGISTRY_ROLE_CHOICE_FORM}; not AcrPull with repository limits: AcrPull cannot be limited to repositories (only Repository Reader can, in ABAC mode)`,
        });
    }
}

/** The registry's role-assignment mode as ARM reports it (absent means the legacy mode, the API's default). */
export type RoleAssignmentMode = "AbacRepositoryPermissions" | "LegacyRegistryPermissions";

/** The ARM API version that reports `roleAssignmentMode` (the first stable one). */
export const ROLE_ASSIGNMENT_MODE_API_VERSION = "2025-11-01";

/** Why a limited registry stops the run: it is not in ABAC mode, so its pulls would fail. */
export function limitsNeedAbacMessage(registryName: string, mode: string | undefined): string {
    return [
        `Registry ${registryName} is in role-assignment mode ${mode ?? "LegacyRegistryPermissions"} ("RBAC Registry Permissions"), which cannot limit pulls to repositories: it ignores Repository Reader and its conditions.`,
        `Nothing was created. Either switch the registry to "RBAC Registry + ABAC Repository Permissions" (az acr update --name ${registryName} --role-assignment-mode rbac-abac, after reading what a switch does to running clusters), or remove its entries from registryRepositories.`,
    ].join("\n");
}

/** Why the mode of a limited registry could not be read. */
export function modeUnreadableMessage(registryName: string, reason: string): string {
    return [
        `Registry ${registryName} has repository limits, which only its "RBAC Registry + ABAC Repository Permissions" mode honours, and its mode could not be read through the registry tenant's azure-native provider: ${reason}`,
        "Nothing was created. That provider needs Microsoft.ContainerRegistry/registries/read on the registry (Reader), and its subscription must be the registry's.",
    ].join("\n");
}
