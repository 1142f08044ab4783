/**
 * Stack configuration: the grant's keys and `credentialDelivery` (what every delivery shares), each delivery's keys
 * (declared in its folder, found through the table in `deliveries/index.ts`), and the translation of raw config
 * strings into typed settings. `parseStackConfig` is pure (strings in, settings or one ValidationError out) so the
 * program, the tests and an offline validator share it; `loadStackSettings` reads the running stack's config and
 * calls it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AzureEnvironment, RegistryId } from "./azureIds";
import { isAzureEnvironment, isClusterName, isResourceGroupName, REGISTRY_ID_FORM, registryLoginServer } from "./azureIds";
import {
    AZURE_ENVIRONMENT_FORM,
    GUID_FORM,
    MAX_SECRET_LIFETIME_DAYS,
    checkApplicationName,
    checkAzureEnvironment,
    checkGuid,
    checkObjectIds,
    checkPastDate,
    checkRegistryIds,
    checkSecretLifetime,
    checkTenantsDiffer,
    show,
    throwIfProblems,
    type Problem,
} from "./validation";
import {
    DEFAULT_REGISTRY_ROLE,
    REGISTRY_ROLE_CHOICE_FORM,
    REPOSITORY_LIMIT_FORM,
    checkRegistryRole,
    checkRepositoryLimits,
    checkRoleTakesLimits,
    type RegistryRoleChoice,
} from "./registryAccess";
import {
    PROJECT,
    configReader,
    type ConfigKeyGroup,
    type ConfigKeySpec,
    type ConfigReader,
    type RawStackConfig,
    type TenantCredentials,
} from "./configKeys";
import { DELIVERY_TABLE, deliveryNamed, type DeliverySettings } from "./deliveries";
import type { AnyDelivery } from "./deliveries/delivery";

export { ENCRYPTED_VALUE, PROJECT } from "./configKeys";
export type { ConfigKeySpec, RawStackConfig, TenantCredentials } from "./configKeys";
export type { CredentialDelivery, DeliverySettings } from "./deliveries";

/** The grant's keys, and the sign-in keys of the deployment: what every delivery reads. */
const GRANT_KEYS = {
    clusterTenantId: {
        description: "Entra tenant id (GUID) of the AKS cluster, tenant A. The application and its secret live here.",
        type: "string",
        required: true,
        form: `the Entra tenant id of the AKS cluster (tenant A), ${GUID_FORM}`,
    },
    clusterSubscriptionId: {
        description: "Subscription id (GUID) of the AKS cluster.",
        type: "string",
        required: true,
        form: `the subscription id of the AKS cluster, ${GUID_FORM}`,
    },
    clusterResourceGroup: {
        description: "Resource group of the AKS cluster.",
        type: "string",
        required: true,
        form: "a resource group name: 1-90 letters, digits, underscores, hyphens, periods or parentheses, not ending in a period",
    },
    clusterName: {
        description: "Name of the AKS cluster.",
        type: "string",
        required: true,
        form: "an AKS cluster name: 1-63 letters, digits, underscores or hyphens, starting and ending with a letter or digit",
    },
    registryTenantId: {
        description: "Entra tenant id (GUID) of the container registries, tenant B. Must differ from clusterTenantId.",
        type: "string",
        required: true,
        form: `the Entra tenant id of the registries (tenant B), ${GUID_FORM}`,
    },
    registryIds: {
        description:
            "Resource ids of the registries in tenant B, /subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<name>. They may span several tenant-B subscriptions.",
        type: "array",
        required: true,
        form: `a list of registry resource ids: ${REGISTRY_ID_FORM}`,
    },
    registryRole: {
        description:
            "Pull roles granted on each registry: AcrPullAndRepositoryReader (both pull-only roles, so pulls work whichever role-assignment mode a registry is in, and through a switch), AcrPull (registries in RBAC Registry Permissions mode only) or ContainerRegistryRepositoryReader (registries in RBAC Registry + ABAC Repository Permissions mode only).",
        type: "string",
        required: false,
        default: DEFAULT_REGISTRY_ROLE,
        form: REGISTRY_ROLE_CHOICE_FORM,
    },
    registryRepositories: {
        description:
            "Optional repository limits: <registry name>/<repository> or <registry name>/<prefix>/ entries; a registry named here pulls only from those repositories (Repository Reader with an ABAC condition; the registry must be in RBAC Registry + ABAC Repository Permissions mode). Registries not named pull from every repository.",
        type: "array",
        required: false,
        default: [],
        form: `a list of ${REPOSITORY_LIMIT_FORM}`,
    },
    applicationName: {
        description: 'Display name of the Entra application. Empty means "<clusterName>-acr-pull-<stack>".',
        type: "string",
        required: false,
        default: "",
        form: 'the Entra application display name, 1-120 characters (empty means "<clusterName>-acr-pull-<stack>")',
    },
    applicationOwners: {
        description: "Object ids (GUIDs) of extra owners of the application; the deploying identity owns it anyway.",
        type: "array",
        required: false,
        default: [],
        form: `a list of Entra user or service principal object ids, each ${GUID_FORM}`,
    },
    secretLifetimeDays: {
        description: "Lifetime of each client secret in days, 1 to 730. Keep it within your tenant's credential policy.",
        type: "integer",
        required: false,
        default: 180,
        form: `an integer from 1 to ${MAX_SECRET_LIFETIME_DAYS} (days)`,
    },
    secretRenewBeforeDays: {
        description: "Days before expiry from which a pulumi up mints a new secret and switches the cluster to it.",
        type: "integer",
        required: false,
        default: 30,
        form: "an integer of at least 1 (days), less than secretLifetimeDays",
    },
    secretWindowAnchor: {
        description:
            "Only when upgrading a stack deployed before the component kept its rotation anchor in its own state: that stack's secretWindowAnchor output (pulumi stack output secretWindowAnchor), so the upgrade keeps its rotation days. Ignored once the component has recorded an anchor.",
        type: "string",
        required: false,
        default: "",
        form: "only when upgrading a stack deployed before the component kept its rotation anchor: that stack's secretWindowAnchor output, an ISO 8601 date no later than today",
    },
    azureEnvironment: {
        description: "Azure cloud, public, usgovernment or china.",
        type: "string",
        required: false,
        default: "public",
        form: AZURE_ENVIRONMENT_FORM,
    },
    clusterClientId: {
        description: "Client id the deployment signs in to tenant A with. Empty means ambient credentials (Azure CLI, managed identity).",
        type: "string",
        required: false,
        default: "",
        form: `the client id the deployment signs in to tenant A with (empty means ambient credentials), ${GUID_FORM}`,
    },
    clusterClientSecret: {
        description: "Client secret for clusterClientId. Set with pulumi config set --secret; leave empty with useOidc.",
        type: "string",
        required: false,
        default: "",
        secret: true,
        form: "the client secret for clusterClientId, set with `pulumi config set --secret`",
    },
    registryClientId: {
        description: "Client id the deployment signs in to tenant B with. Empty means ambient credentials (Azure CLI, managed identity).",
        type: "string",
        required: false,
        default: "",
        form: `the client id the deployment signs in to tenant B with (empty means ambient credentials), ${GUID_FORM}`,
    },
    registryClientSecret: {
        description: "Client secret for registryClientId. Set with pulumi config set --secret; leave empty with useOidc.",
        type: "string",
        required: false,
        default: "",
        secret: true,
        form: "the client secret for registryClientId, set with `pulumi config set --secret`",
    },
    useOidc: {
        description: "Sign in to both tenants with OIDC workload identity federation (CI), using clusterClientId and registryClientId.",
        type: "boolean",
        required: false,
        default: false,
        form: "true or false: sign in with OIDC workload identity federation (CI)",
    },
} as const satisfies Record<string, ConfigKeySpec>;

/** The grant's keys about its client secret: only for deliveries whose grant has one (`Delivery.secret`). */
const SECRET_KEYS = ["secretLifetimeDays", "secretRenewBeforeDays", "secretWindowAnchor"] as const;

/** `credentialDelivery`: its form lists the table's deliveries, each with its summary. */
const CREDENTIAL_DELIVERY_KEY: ConfigKeySpec = {
    type: "string",
    required: false,
    default: "clusterServicePrincipal",
    form: `one of ${DELIVERY_TABLE.map((delivery) => `${delivery.name} (${delivery.summary})`).join(", ")}`,
    description:
        "how the credentials reach the cluster. clusterServicePrincipal switches an existing service-principal cluster to the application (resetServicePrincipalProfile, rolls the nodes); imagePullSecret puts them in a Kubernetes image pull secret (any cluster, managed-identity ones included); federatedPullSecret has External Secrets Operator mint short-lived registry tokens in the cluster from a federated credential (no secret at all; needs the cluster's OIDC issuer and ESO v0.17 or later); none declares only the grant.",
};

/** Every delivery's key groups, each once (two deliveries may share one), in the table's order. */
const DELIVERY_KEY_GROUPS: readonly ConfigKeyGroup<unknown>[] = [...new Set(DELIVERY_TABLE.flatMap((delivery) => delivery.configKeys))];

/**
 * Every key the program reads: the grant's, `credentialDelivery`, then each delivery's. Pulumi.yaml's `config:` block
 * is generated from these (`npm run docs`) and a test keeps the two in step. Optional string keys default to ""
 * because Pulumi treats a declared key without a default as required.
 */
export const CONFIG_KEYS: Readonly<Record<string, ConfigKeySpec>> = {
    ...GRANT_KEYS,
    credentialDelivery: CREDENTIAL_DELIVERY_KEY,
    ...Object.fromEntries(DELIVERY_KEY_GROUPS.flatMap((group) => Object.entries(group.keys))),
};

export type ConfigKey = string;

/** The `credentialDelivery` values, in the table's order. */
export const CREDENTIAL_DELIVERIES: readonly string[] = DELIVERY_TABLE.map((delivery) => delivery.name);

/** Keys earlier versions read, and what replaces them: a stack file that still sets one gets a problem, not silence. */
const RETIRED_KEYS: Readonly<Record<string, (value: string) => string>> = {
    switchCluster: (value) =>
        `credentialDelivery instead (switchCluster was replaced): ${value === "false" ? "credentialDelivery: none" : "credentialDelivery: clusterServicePrincipal"} for this value, or credentialDelivery: imagePullSecret for a managed-identity cluster; then remove switchCluster`,
};

/**
 * Keys that only mean something with some deliveries, and those deliveries: each delivery group's keys with the
 * deliveries that read the group, then the secret's keys with the deliveries whose grant has a secret.
 */
export const DELIVERY_KEYS: ReadonlyArray<readonly [string, readonly string[]]> = [
    ...DELIVERY_KEY_GROUPS.flatMap((group) => {
        const owners = DELIVERY_TABLE.filter((delivery) => delivery.configKeys.includes(group)).map((delivery) => delivery.name);
        return Object.keys(group.keys).map((key) => [key, owners] as const);
    }),
    ...SECRET_KEYS.map((key) => [key, DELIVERY_TABLE.filter((delivery) => delivery.secret).map((delivery) => delivery.name)] as const),
];

/** Typed, validated settings of one stack. */
export interface StackSettings {
    readonly stack: string;
    readonly azureEnvironment: AzureEnvironment;
    readonly cluster: {
        readonly tenantId: string;
        readonly subscriptionId: string;
        readonly resourceGroupName: string;
        readonly clusterName: string;
        readonly credentials: TenantCredentials;
    };
    readonly registry: {
        readonly tenantId: string;
        readonly registries: readonly RegistryId[];
        readonly role: RegistryRoleChoice;
        /** Repository limits as configured (`<registry>/<repository>`, `<registry>/<prefix>/`); empty: none. */
        readonly repositories: readonly string[];
        readonly credentials: TenantCredentials;
    };
    readonly applicationName: string;
    readonly applicationOwners: readonly string[];
    readonly secretLifetimeDays: number;
    readonly secretRenewBeforeDays: number;
    /** The rotation anchor of a stack deployed by an earlier version, recorded on upgrade; absent otherwise. */
    readonly secretWindowAnchor?: string;
    /** How the credentials reach the cluster (`credentialDelivery`), with that delivery's settings. */
    readonly delivery: DeliverySettings;
}

/** Levenshtein distance: for a key, or a namespace, one slip away from ours. */
function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let previous = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const current = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
            previous = current;
        }
    }
    return row[b.length];
}

/** Suggests the closest known key for a typo, by a small edit distance. */
function closestKey(key: string): string | undefined {
    const ranked = Object.keys(CONFIG_KEYS)
        .map((candidate) => ({ candidate, d: editDistance(key.toLowerCase(), candidate.toLowerCase()) }))
        .sort((x, y) => x.d - y.d);
    return ranked[0] && ranked[0].d <= 3 ? ranked[0].candidate : undefined;
}

/**
 * Does a config namespace look like a misspelling of the project's name? The same letters in another case or with
 * other separators (`AKS_ACR_Cross_Tenant`), or up to three edits away (`aks-acr-crosstenant`). Provider namespaces
 * (`azure-native`, `azuread`, `kubernetes`, `pulumi`) are far from it.
 */
export function looksLikeProjectName(namespace: string): boolean {
    if (namespace === PROJECT) return false;
    const letters = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, "");
    return letters(namespace) === letters(PROJECT) || editDistance(namespace.toLowerCase(), PROJECT) <= 3;
}

/**
 * The problem with `fullKey` (`namespace:key`) when its namespace looks like a misspelling of the project's: the
 * program reads only its own namespace, so the key would be ignored. `shown` is how its value may be shown.
 */
export function misspeltNamespaceProblems(fullKey: string, shown: string): Problem[] {
    const namespace = fullKey.slice(0, Math.max(fullKey.indexOf(":"), 0));
    if (namespace === "" || !looksLikeProjectName(namespace)) return [];
    const key = fullKey.slice(namespace.length + 1);
    return [
        {
            key: fullKey,
            value: `${shown} under namespace ${namespace}, which the program ignores`,
            expected: `${PROJECT}:${key} (the project is ${PROJECT})`,
        },
    ];
}

/**
 * Validates raw stack config and returns typed settings. Throws one ValidationError naming every problem.
 * `secret` wraps secret values (`pulumi.secret` in a program) so they never exist as plain strings downstream.
 */
export function parseStackConfig(
    raw: RawStackConfig,
    stack: string,
    secret: (value: string) => pulumi.Output<string> = (value) => pulumi.secret(value),
    /** Problems found outside the project's namespace (`misspeltNamespaceProblems`), reported with the rest. */
    outside: readonly Problem[] = [],
): StackSettings {
    const problems: Problem[] = [...outside];
    const read = configReader(CONFIG_KEYS, raw, stack, problems, secret);
    const { present, required, text, list, integer, boolean } = read;
    for (const key of Object.keys(raw)) {
        const retired = RETIRED_KEYS[key];
        if (retired !== undefined) {
            problems.push({ key, value: show(raw[key]), expected: retired(raw[key] ?? "") });
        } else if (!(key in CONFIG_KEYS)) {
            const suggestion = closestKey(key);
            problems.push({
                key,
                value: "an unknown key",
                expected: suggestion
                    ? `a known key; did you mean ${suggestion}?`
                    : `one of the keys in Pulumi.yaml (${Object.keys(CONFIG_KEYS).join(", ")})`,
            });
        }
    }

    const clusterTenantId = required("clusterTenantId");
    const clusterSubscriptionId = required("clusterSubscriptionId");
    const resourceGroupName = required("clusterResourceGroup");
    const clusterName = required("clusterName");
    const registryTenantId = required("registryTenantId");
    const registryIdValues = list("registryIds", true);
    const role = text("registryRole");
    const applicationName = present("applicationName") ?? `${clusterName}-acr-pull-${stack}`;
    const owners = list("applicationOwners", false);
    const secretLifetimeDays = integer("secretLifetimeDays");
    const secretRenewBeforeDays = integer("secretRenewBeforeDays");
    const azureEnvironment = text("azureEnvironment");
    const useOidc = boolean("useOidc");

    if (clusterTenantId) checkGuid("clusterTenantId", clusterTenantId, "a tenant id", problems);
    if (clusterSubscriptionId) checkGuid("clusterSubscriptionId", clusterSubscriptionId, "a subscription id", problems);
    if (resourceGroupName && !isResourceGroupName(resourceGroupName)) {
        problems.push({ key: "clusterResourceGroup", value: show(resourceGroupName), expected: CONFIG_KEYS.clusterResourceGroup.form });
    }
    if (clusterName && !isClusterName(clusterName)) {
        problems.push({ key: "clusterName", value: show(clusterName), expected: GRANT_KEYS.clusterName.form });
    }
    if (registryTenantId) {
        checkGuid("registryTenantId", registryTenantId, "a tenant id", problems);
        checkTenantsDiffer(clusterTenantId, registryTenantId, "registryTenantId", problems);
    }
    const registries = present("registryIds") === undefined ? [] : checkRegistryIds("registryIds", registryIdValues, problems);
    checkRegistryRole("registryRole", role, problems);
    const repositories = list("registryRepositories", false);
    if (registries.length > 0 && isAzureEnvironment(azureEnvironment)) {
        checkRepositoryLimits(
            "registryRepositories",
            repositories,
            registries,
            (registryName) => registryLoginServer(registryName, azureEnvironment),
            problems,
        );
    }
    checkRoleTakesLimits("registryRole", role, repositories.length > 0, problems);
    if (clusterName || present("applicationName")) checkApplicationName("applicationName", applicationName, problems);
    checkObjectIds("applicationOwners", owners, problems);
    if (!Number.isNaN(secretLifetimeDays) && !Number.isNaN(secretRenewBeforeDays)) {
        checkSecretLifetime(
            { lifetime: "secretLifetimeDays", renewBefore: "secretRenewBeforeDays" },
            secretLifetimeDays,
            secretRenewBeforeDays,
            problems,
        );
    }
    checkAzureEnvironment("azureEnvironment", azureEnvironment, problems);
    const secretWindowAnchor = present("secretWindowAnchor");
    if (secretWindowAnchor !== undefined) checkPastDate("secretWindowAnchor", secretWindowAnchor, new Date(), problems);
    const delivery = parseDelivery(read, problems);

    const clusterCredentials = credentials("cluster", useOidc, read, problems, secret);
    const registryCredentials = credentials("registry", useOidc, read, problems, secret);

    throwIfProblems(
        (count) =>
            `Invalid stack configuration for ${PROJECT} (stack "${stack}"): ${count} problem${count === 1 ? "" : "s"}; nothing was deployed. Fix ${count === 1 ? "it" : "them"} in Pulumi.${stack}.yaml:`,
        problems,
    );

    return {
        stack,
        azureEnvironment: azureEnvironment as AzureEnvironment,
        cluster: {
            tenantId: clusterTenantId,
            subscriptionId: clusterSubscriptionId,
            resourceGroupName,
            clusterName,
            credentials: clusterCredentials,
        },
        registry: {
            tenantId: registryTenantId,
            registries,
            role: role as RegistryRoleChoice,
            repositories: repositories as string[],
            credentials: registryCredentials,
        },
        applicationName,
        applicationOwners: owners as string[],
        secretLifetimeDays,
        secretRenewBeforeDays,
        secretWindowAnchor,
        delivery,
    };
}

/**
 * Reads `credentialDelivery` and the keys of every delivery (each group once, so a malformed value is named whichever
 * delivery is chosen), then the chosen delivery's settings. A key of another delivery than the one chosen is a
 * problem, never silently ignored.
 */
function parseDelivery(read: ConfigReader, problems: Problem[]): DeliverySettings {
    const name = read.text("credentialDelivery");
    const chosen: AnyDelivery | undefined = deliveryNamed(name);
    if (chosen === undefined) {
        problems.push({ key: "credentialDelivery", value: show(name), expected: CREDENTIAL_DELIVERY_KEY.form });
    }
    for (const [key, owners] of DELIVERY_KEYS) {
        if (chosen !== undefined && !owners.includes(chosen.name) && read.isSetOffDefault(key)) {
            problems.push({
                key,
                value: CONFIG_KEYS[key].secret ? "a secret (value hidden)" : show(read.raw(key)),
                expected: `no ${key} unless credentialDelivery is ${owners.join(" or ")} (it is ${show(name)}); remove it from Pulumi.${read.stack}.yaml`,
            });
        }
    }
    // An unknown delivery is reported above; the settings are then the default delivery's, never used.
    const delivery = chosen ?? DELIVERY_TABLE[0];
    const values = new Map<ConfigKeyGroup<unknown>, unknown>();
    for (const group of DELIVERY_KEY_GROUPS) {
        values.set(group, group.read(read, problems, delivery.configKeys.includes(group)));
    }
    return delivery.settings(<T>(group: ConfigKeyGroup<T>) => values.get(group) as T, read, problems) as DeliverySettings;
}

function credentials(
    tenant: "cluster" | "registry",
    useOidc: boolean,
    { present, setCommand }: ConfigReader,
    problems: Problem[],
    secret: (value: string) => pulumi.Output<string>,
): TenantCredentials {
    const idKey = `${tenant}ClientId` as const;
    const secretKey = `${tenant}ClientSecret` as const;
    const clientId = present(idKey);
    const clientSecret = present(secretKey);
    if (clientId !== undefined) {
        checkGuid(idKey, clientId, "a client (application) id", problems);
    }
    if (clientSecret !== undefined && clientId === undefined) {
        problems.push({
            key: idKey,
            value: undefined,
            expected: `the client id that ${secretKey} belongs to; set it with: ${setCommand(idKey)}`,
        });
    }
    if (clientSecret !== undefined && useOidc) {
        // Never echo the secret: say only that it is set.
        problems.push({
            key: secretKey,
            value: "a secret (value hidden)",
            expected: "no client secret when useOidc is true: OIDC federation replaces it",
        });
    }
    if (clientId === undefined && useOidc) {
        problems.push({
            key: idKey,
            value: undefined,
            expected: `the client id to federate as when useOidc is true; set it with: ${setCommand(idKey)}`,
        });
    }
    if (clientId !== undefined && clientSecret === undefined && !useOidc) {
        problems.push({
            key: secretKey,
            value: undefined,
            expected: `a client secret for ${idKey} (or useOidc: true); set it with: ${setCommand(secretKey)}`,
        });
    }
    return { clientId, clientSecret: clientSecret === undefined ? undefined : secret(clientSecret), useOidc };
}

/**
 * Reads the running stack's config (every key in this project's namespace) and validates it; a key under a
 * misspelling of the namespace is a problem too, since it would be ignored.
 */
export function loadStackSettings(): StackSettings {
    const prefix = `${PROJECT}:`;
    const raw: Record<string, string> = {};
    const outside: Problem[] = [];
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (fullKey.startsWith(prefix)) {
            raw[fullKey.slice(prefix.length)] = value;
        } else {
            // The value may be a secret, decrypted here: never shown.
            outside.push(...misspeltNamespaceProblems(fullKey, "a value (not shown)"));
        }
    }
    return parseStackConfig(raw, pulumi.getStack(), undefined, outside);
}
