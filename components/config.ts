/**
 * Stack configuration: the keys, their defaults, and the translation of raw config strings into typed settings.
 * `parseStackConfig` is pure (strings in, settings or one ValidationError out) so the program, the tests and an
 * offline validator share it; `loadStackSettings` reads the running stack's config and calls it.
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
    checkClusterTenantRoles,
    checkKubernetesName,
    checkKubernetesNames,
    CLUSTER_TENANT_ROLE_FORM,
    show,
    throwIfProblems,
    type Problem,
    type ResolvedClusterTenantRole,
} from "./validation";
import { BINDING_DELETE_POLICIES, type BindingDeletePolicy } from "./reset/bindingState";
import {
    DEFAULT_PULL_SECRET_NAME,
    DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS,
    PULL_SECRET_TARGETS,
    PULL_SECRET_TARGET_FORM,
    type PullSecretTarget,
} from "./pullSecretTarget/settings";
import { DNS1123_LABEL_FORM, DNS1123_SUBDOMAIN_FORM } from "./kubernetesNames";
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
    DEFAULT_MINTER_SERVICE_ACCOUNT,
    DEFAULT_REFRESH_INTERVAL,
    MAX_FEDERATED_CREDENTIALS,
    REFRESH_INTERVAL_FORM,
    isRefreshInterval,
} from "./deliveries/federatedPullSecret/externalSecrets";

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT = "aks-acr-cross-tenant";

type KeyType = "string" | "integer" | "boolean" | "array";

/** One stack config key: its type, whether it is required, its default and how to describe it. */
export interface ConfigKeySpec {
    readonly type: KeyType;
    readonly required: boolean;
    /** Default applied when the key is absent (also declared in Pulumi.yaml). */
    readonly default?: string | number | boolean | readonly string[];
    /** Holds a credential: read as a secret and never shown in messages. */
    readonly secret?: boolean;
    /** Expected form, quoted in validation messages. */
    readonly form: string;
    /**
     * Declared in Pulumi.yaml without a type: Pulumi's project config types cannot describe a list of objects,
     * so the program validates the shape itself.
     */
    readonly untyped?: boolean;
}

/**
 * Every key the program reads. Pulumi.yaml declares the same keys with the same types and defaults; a test keeps
 * the two in step. Optional string keys default to "" because Pulumi treats a declared key without a default
 * as required.
 */
export const CONFIG_KEYS = {
    clusterTenantId: { type: "string", required: true, form: `the Entra tenant id of the AKS cluster (tenant A), ${GUID_FORM}` },
    clusterSubscriptionId: { type: "string", required: true, form: `the subscription id of the AKS cluster, ${GUID_FORM}` },
    clusterResourceGroup: {
        type: "string",
        required: true,
        form: "a resource group name: 1-90 letters, digits, underscores, hyphens, periods or parentheses, not ending in a period",
    },
    clusterName: {
        type: "string",
        required: true,
        form: "an AKS cluster name: 1-63 letters, digits, underscores or hyphens, starting and ending with a letter or digit",
    },
    registryTenantId: { type: "string", required: true, form: `the Entra tenant id of the registries (tenant B), ${GUID_FORM}` },
    registryIds: { type: "array", required: true, form: `a list of registry resource ids: ${REGISTRY_ID_FORM}` },
    registryRole: { type: "string", required: false, default: DEFAULT_REGISTRY_ROLE, form: REGISTRY_ROLE_CHOICE_FORM },
    registryRepositories: { type: "array", required: false, default: [], form: `a list of ${REPOSITORY_LIMIT_FORM}` },
    applicationName: {
        type: "string",
        required: false,
        default: "",
        form: 'the Entra application display name, 1-120 characters (empty means "<clusterName>-acr-pull-<stack>")',
    },
    applicationOwners: {
        type: "array",
        required: false,
        default: [],
        form: `a list of Entra user or service principal object ids, each ${GUID_FORM}`,
    },
    secretLifetimeDays: { type: "integer", required: false, default: 180, form: `an integer from 1 to ${MAX_SECRET_LIFETIME_DAYS} (days)` },
    secretRenewBeforeDays: {
        type: "integer",
        required: false,
        default: 30,
        form: "an integer of at least 1 (days), less than secretLifetimeDays",
    },
    secretWindowAnchor: {
        type: "string",
        required: false,
        default: "",
        form: "only when upgrading a stack deployed before the component kept its rotation anchor: that stack's secretWindowAnchor output, an ISO 8601 date no later than today",
    },
    azureEnvironment: { type: "string", required: false, default: "public", form: AZURE_ENVIRONMENT_FORM },
    clusterClientId: {
        type: "string",
        required: false,
        default: "",
        form: `the client id the deployment signs in to tenant A with (empty means ambient credentials), ${GUID_FORM}`,
    },
    clusterClientSecret: {
        type: "string",
        required: false,
        default: "",
        secret: true,
        form: "the client secret for clusterClientId, set with `pulumi config set --secret`",
    },
    registryClientId: {
        type: "string",
        required: false,
        default: "",
        form: `the client id the deployment signs in to tenant B with (empty means ambient credentials), ${GUID_FORM}`,
    },
    registryClientSecret: {
        type: "string",
        required: false,
        default: "",
        secret: true,
        form: "the client secret for registryClientId, set with `pulumi config set --secret`",
    },
    useOidc: {
        type: "boolean",
        required: false,
        default: false,
        form: "true or false: sign in with OIDC workload identity federation (CI)",
    },
    credentialDelivery: {
        type: "string",
        required: false,
        default: "clusterServicePrincipal",
        form: "one of clusterServicePrincipal (switch a service-principal cluster to the application), imagePullSecret (a Kubernetes pull secret, for any cluster), federatedPullSecret (registry tokens minted in the cluster by External Secrets Operator from a federated credential: no secret), none (the grant only)",
    },
    pullSecretNamespaces: {
        type: "array",
        required: false,
        default: [],
        form: `a list of namespaces that get the pull secret, each ${DNS1123_LABEL_FORM}`,
    },
    pullSecretTarget: {
        type: "string",
        required: false,
        default: "serviceAccounts",
        form: PULL_SECRET_TARGET_FORM,
    },
    pullSecretServiceAccounts: {
        type: "array",
        required: false,
        default: DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS,
        form: `a list of service accounts in each of those namespaces that reference the pull secret, each ${DNS1123_SUBDOMAIN_FORM}`,
    },
    pullSecretName: {
        type: "string",
        required: false,
        default: DEFAULT_PULL_SECRET_NAME,
        form: `the pull secret's name, ${DNS1123_SUBDOMAIN_FORM}`,
    },
    tokenMinterServiceAccount: {
        type: "string",
        required: false,
        default: DEFAULT_MINTER_SERVICE_ACCOUNT,
        form: `the service account External Secrets Operator mints tokens with, created in every namespace, ${DNS1123_SUBDOMAIN_FORM}`,
    },
    tokenRefreshInterval: { type: "string", required: false, default: DEFAULT_REFRESH_INTERVAL, form: REFRESH_INTERVAL_FORM },
    kubeconfig: {
        type: "string",
        required: false,
        default: "",
        secret: true,
        form: "the contents of a kubeconfig for the cluster (not a path), set with `pulumi config set --secret kubeconfig < <file>`; empty means the cluster's user credentials, read through Azure",
    },
    clusterRoleAssignments: { type: "array", required: false, default: [], untyped: true, form: `a list of ${CLUSTER_TENANT_ROLE_FORM}` },
    clusterDeletePolicy: {
        type: "string",
        required: false,
        default: "refuse",
        form: "one of refuse, restore, leave: what deleting the cluster binding does",
    },
    restoreClientId: {
        type: "string",
        required: false,
        default: "",
        form: `the client id to switch the cluster back to when the binding is deleted with clusterDeletePolicy restore, ${GUID_FORM}`,
    },
    restoreClientSecret: {
        type: "string",
        required: false,
        default: "",
        secret: true,
        form: "the client secret for restoreClientId, set with `pulumi config set --secret`",
    },
    resetTimeoutMinutes: { type: "integer", required: false, default: 60, form: "an integer from 5 to 1440 (minutes)" },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** How the grant reaches the cluster. */
export const CREDENTIAL_DELIVERIES = ["clusterServicePrincipal", "imagePullSecret", "federatedPullSecret", "none"] as const;
export type CredentialDelivery = (typeof CREDENTIAL_DELIVERIES)[number];

/** Keys earlier versions read, and what replaces them: a stack file that still sets one gets a problem, not silence. */
const RETIRED_KEYS: Readonly<Record<string, (value: string) => string>> = {
    switchCluster: (value) =>
        `credentialDelivery instead (switchCluster was replaced): ${value === "false" ? "credentialDelivery: none" : "credentialDelivery: clusterServicePrincipal"} for this value, or credentialDelivery: imagePullSecret for a managed-identity cluster; then remove switchCluster`,
};

/** Keys that only mean something with some deliveries, and those deliveries. */
const CLUSTER_SIDE: readonly CredentialDelivery[] = ["imagePullSecret", "federatedPullSecret"];
const WITH_SECRET: readonly CredentialDelivery[] = ["clusterServicePrincipal", "imagePullSecret", "none"];
const DELIVERY_KEYS: ReadonlyArray<readonly [ConfigKey, readonly CredentialDelivery[]]> = [
    ["clusterRoleAssignments", ["clusterServicePrincipal"]],
    ["clusterDeletePolicy", ["clusterServicePrincipal"]],
    ["restoreClientId", ["clusterServicePrincipal"]],
    ["restoreClientSecret", ["clusterServicePrincipal"]],
    ["resetTimeoutMinutes", ["clusterServicePrincipal"]],
    ["pullSecretNamespaces", CLUSTER_SIDE],
    ["pullSecretTarget", CLUSTER_SIDE],
    ["pullSecretServiceAccounts", CLUSTER_SIDE],
    ["pullSecretName", CLUSTER_SIDE],
    ["kubeconfig", CLUSTER_SIDE],
    ["tokenMinterServiceAccount", ["federatedPullSecret"]],
    ["tokenRefreshInterval", ["federatedPullSecret"]],
    ["secretLifetimeDays", WITH_SECRET],
    ["secretRenewBeforeDays", WITH_SECRET],
    ["secretWindowAnchor", WITH_SECRET],
];

/** A key's spec, widened so optional fields can be read uniformly. */
function spec(key: ConfigKey): ConfigKeySpec {
    return CONFIG_KEYS[key];
}

/** Raw config as Pulumi hands it to a program: strings, with lists as JSON. Secrets are present but never shown. */
export type RawStackConfig = Readonly<Partial<Record<string, string>>>;

/** Credentials a deployment uses to sign in to one tenant. Absent client id means ambient credentials. */
export interface TenantCredentials {
    readonly clientId?: string;
    /** Secret-wrapped; present only with a client id. */
    readonly clientSecret?: pulumi.Output<string>;
    readonly useOidc: boolean;
}

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

/** The delivery and its settings. */
export type DeliverySettings =
    | {
          readonly kind: "clusterServicePrincipal";
          readonly roles: readonly ResolvedClusterTenantRole[];
          readonly deletePolicy: BindingDeletePolicy;
          readonly restore?: { readonly clientId: string; readonly secret: pulumi.Output<string> };
          readonly timeoutMinutes: number;
      }
    | {
          readonly kind: "imagePullSecret";
          readonly namespaces: readonly string[];
          /** Where the secret is referenced: the service accounts, or every new pod. */
          readonly target: PullSecretTarget;
          readonly serviceAccounts: readonly string[];
          readonly secretName: string;
          /** Secret-wrapped; absent means the cluster's user credentials. */
          readonly kubeconfig?: pulumi.Output<string>;
      }
    | {
          readonly kind: "federatedPullSecret";
          readonly namespaces: readonly string[];
          readonly target: PullSecretTarget;
          readonly serviceAccounts: readonly string[];
          readonly secretName: string;
          /** Secret-wrapped; absent means the cluster's user credentials. */
          readonly kubeconfig?: pulumi.Output<string>;
          readonly minterServiceAccount: string;
          readonly refreshInterval: string;
      }
    | { readonly kind: "none" };

/** Whether a key holds something other than its default (Pulumi hands a program the defaults of Pulumi.yaml too). */
function isSetOffDefault(raw: RawStackConfig, key: ConfigKey): boolean {
    const value = raw[key];
    if (value === undefined || value === "") return false;
    const fallback = spec(key).default;
    if (Array.isArray(fallback)) {
        try {
            return JSON.stringify(JSON.parse(value)) !== JSON.stringify(fallback);
        } catch {
            return true;
        }
    }
    return value !== String(fallback);
}

/**
 * Stands for an encrypted value an offline check cannot read (`npm run validate` has no passphrase): its presence
 * counts, its form is not checked.
 */
export const ENCRYPTED_VALUE = "<encrypted>";

/** A kubeconfig's contents, not a path or a stray string: it names clusters and users. Never shown. */
function looksLikeKubeconfig(text: string): boolean {
    const hasKey = (key: string): boolean => new RegExp(`^\\s*${key}\\s*:`, "m").test(text) || text.includes(`"${key}"`);
    return hasKey("clusters") && hasKey("users");
}

function setCommand(key: ConfigKey, stack: string): string {
    const { type, secret } = spec(key);
    const value = type === "array" ? `--path '${key}[0]' <value>` : `${key} <value>`;
    return `pulumi config set ${secret ? "--secret " : ""}${value.startsWith("--path") ? value : `${PROJECT}:${value}`} --stack ${stack}`;
}

/** Suggests the closest known key for a typo, by a small edit distance. */
function closestKey(key: string): string | undefined {
    const distance = (a: string, b: string): number => {
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
    };
    const ranked = Object.keys(CONFIG_KEYS)
        .map((candidate) => ({ candidate, d: distance(key.toLowerCase(), candidate.toLowerCase()) }))
        .sort((x, y) => x.d - y.d);
    return ranked[0] && ranked[0].d <= 3 ? ranked[0].candidate : undefined;
}

/** Reads raw config values by key, recording a problem for every value of the wrong form. */
interface ConfigReader {
    /** The value, or undefined when absent or empty. */
    readonly present: (key: ConfigKey) => string | undefined;
    /** The value; a problem with the command that sets it when absent. */
    readonly required: (key: ConfigKey) => string;
    /** The value or the key's default. */
    readonly text: (key: ConfigKey) => string;
    readonly list: (key: ConfigKey, isRequired: boolean) => unknown[];
    readonly integer: (key: ConfigKey) => number;
    readonly boolean: (key: ConfigKey) => boolean;
}

function configReader(raw: RawStackConfig, stack: string, problems: Problem[]): ConfigReader {
    const present = (key: ConfigKey): string | undefined => {
        const value = raw[key];
        return value === undefined || value === "" ? undefined : value;
    };
    const required = (key: ConfigKey): string => {
        const value = present(key);
        if (value === undefined) {
            problems.push({ key, value: undefined, expected: `${CONFIG_KEYS[key].form}; set it with: ${setCommand(key, stack)}` });
        }
        return value ?? "";
    };
    const text = (key: ConfigKey): string => present(key) ?? String(spec(key).default ?? "");
    const list = (key: ConfigKey, isRequired: boolean): unknown[] => {
        const value = isRequired ? required(key) : present(key);
        if (value === undefined || value === "") {
            return [...((spec(key).default as readonly string[] | undefined) ?? [])];
        }
        try {
            const parsed: unknown = JSON.parse(value);
            if (Array.isArray(parsed)) {
                return parsed;
            }
        } catch {
            // fall through: a plain string where a list belongs
        }
        problems.push({
            key,
            value: show(value),
            expected: `${CONFIG_KEYS[key].form}, as a YAML list; set items with: ${setCommand(key, stack)}`,
        });
        return [];
    };
    const integer = (key: ConfigKey): number => {
        const value = present(key);
        if (value === undefined) {
            return Number(spec(key).default);
        }
        if (!/^-?\d+$/.test(value)) {
            problems.push({ key, value: show(value), expected: CONFIG_KEYS[key].form });
            return Number.NaN;
        }
        return Number(value);
    };
    const boolean = (key: ConfigKey): boolean => {
        const value = present(key);
        if (value === undefined) {
            return Boolean(spec(key).default);
        }
        if (value !== "true" && value !== "false") {
            problems.push({ key, value: show(value), expected: CONFIG_KEYS[key].form });
        }
        return value === "true";
    };

    return { present, required, text, list, integer, boolean };
}

/**
 * Validates raw stack config and returns typed settings. Throws one ValidationError naming every problem.
 * `secret` wraps secret values (`pulumi.secret` in a program) so they never exist as plain strings downstream.
 */
export function parseStackConfig(
    raw: RawStackConfig,
    stack: string,
    secret: (value: string) => pulumi.Output<string> = (value) => pulumi.secret(value),
): StackSettings {
    const problems: Problem[] = [];
    const read = configReader(raw, stack, problems);
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
        problems.push({ key: "clusterName", value: show(clusterName), expected: CONFIG_KEYS.clusterName.form });
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
    const delivery = parseDelivery(raw, stack, read, problems, secret);

    const clusterCredentials = credentials("cluster", useOidc, present, stack, problems, secret);
    const registryCredentials = credentials("registry", useOidc, present, stack, problems, secret);

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
 * Reads `credentialDelivery` and the keys of each delivery. A key of another delivery than the one chosen is a
 * problem, never silently ignored.
 */
function parseDelivery(
    raw: RawStackConfig,
    stack: string,
    read: ConfigReader,
    problems: Problem[],
    secret: (value: string) => pulumi.Output<string>,
): DeliverySettings {
    const { present, text, list, integer } = read;
    const delivery = text("credentialDelivery");
    if (!(CREDENTIAL_DELIVERIES as readonly string[]).includes(delivery)) {
        problems.push({ key: "credentialDelivery", value: show(delivery), expected: CONFIG_KEYS.credentialDelivery.form });
    }
    for (const [key, owners] of DELIVERY_KEYS) {
        const known = (CREDENTIAL_DELIVERIES as readonly string[]).includes(delivery);
        if (known && !owners.includes(delivery as CredentialDelivery) && isSetOffDefault(raw, key)) {
            problems.push({
                key,
                value: spec(key).secret ? "a secret (value hidden)" : show(raw[key]),
                expected: `no ${key} unless credentialDelivery is ${owners.join(" or ")} (it is ${show(delivery)}); remove it from Pulumi.${stack}.yaml`,
            });
        }
    }
    const roles = checkClusterTenantRoles("clusterRoleAssignments", list("clusterRoleAssignments", false), problems);
    const deletePolicy = text("clusterDeletePolicy");
    if (!(BINDING_DELETE_POLICIES as readonly string[]).includes(deletePolicy)) {
        problems.push({ key: "clusterDeletePolicy", value: show(deletePolicy), expected: CONFIG_KEYS.clusterDeletePolicy.form });
    }
    const restoreClientId = present("restoreClientId");
    const restoreSecret = present("restoreClientSecret");
    if (deletePolicy === "restore") {
        if (restoreClientId === undefined) {
            problems.push({
                key: "restoreClientId",
                value: undefined,
                expected: `the client id to restore, as clusterDeletePolicy is restore; set it with: ${setCommand("restoreClientId", stack)}`,
            });
        }
        if (restoreSecret === undefined) {
            problems.push({
                key: "restoreClientSecret",
                value: undefined,
                expected: `its client secret, as clusterDeletePolicy is restore; set it with: ${setCommand("restoreClientSecret", stack)}`,
            });
        }
    } else if (restoreClientId !== undefined || restoreSecret !== undefined) {
        problems.push({
            key: restoreClientId !== undefined ? "restoreClientId" : "restoreClientSecret",
            value: restoreClientId !== undefined ? show(restoreClientId) : "a secret (value hidden)",
            expected: `no restore credentials unless clusterDeletePolicy is restore (it is ${show(deletePolicy)})`,
        });
    }
    if (restoreClientId !== undefined) checkGuid("restoreClientId", restoreClientId, "a client (application) id", problems);
    const timeoutMinutes = integer("resetTimeoutMinutes");
    if (!Number.isNaN(timeoutMinutes) && (timeoutMinutes < 5 || timeoutMinutes > 1440)) {
        problems.push({ key: "resetTimeoutMinutes", value: show(timeoutMinutes), expected: CONFIG_KEYS.resetTimeoutMinutes.form });
    }
    const namespaces = checkKubernetesNames(
        "pullSecretNamespaces",
        list("pullSecretNamespaces", false),
        "label",
        CLUSTER_SIDE.includes(delivery as CredentialDelivery),
        problems,
    );
    if (delivery === "federatedPullSecret" && namespaces.length > MAX_FEDERATED_CREDENTIALS) {
        problems.push({
            key: "pullSecretNamespaces",
            value: `${namespaces.length} namespaces`,
            expected: `at most ${MAX_FEDERATED_CREDENTIALS} with federatedPullSecret: each needs a federated credential on the application, and Entra allows ${MAX_FEDERATED_CREDENTIALS} per application`,
        });
    }
    const minter = text("tokenMinterServiceAccount");
    checkKubernetesName("tokenMinterServiceAccount", minter, problems);
    const refreshInterval = text("tokenRefreshInterval");
    if (!isRefreshInterval(refreshInterval)) {
        problems.push({ key: "tokenRefreshInterval", value: show(refreshInterval), expected: REFRESH_INTERVAL_FORM });
    }
    const target = text("pullSecretTarget");
    if (!(PULL_SECRET_TARGETS as readonly string[]).includes(target)) {
        problems.push({ key: "pullSecretTarget", value: show(target), expected: PULL_SECRET_TARGET_FORM });
    }
    if (target === "pods" && isSetOffDefault(raw, "pullSecretServiceAccounts")) {
        problems.push({
            key: "pullSecretServiceAccounts",
            value: raw.pullSecretServiceAccounts,
            expected: "no service accounts with pullSecretTarget pods: every new pod in the namespaces gets the secret; remove the key",
        });
    }
    const serviceAccounts = checkKubernetesNames(
        "pullSecretServiceAccounts",
        list("pullSecretServiceAccounts", false),
        "subdomain",
        false,
        problems,
    );
    const secretName = text("pullSecretName");
    checkKubernetesName("pullSecretName", secretName, problems);
    const kubeconfig = present("kubeconfig");
    if (kubeconfig !== undefined && kubeconfig !== ENCRYPTED_VALUE && !looksLikeKubeconfig(kubeconfig)) {
        problems.push({
            key: "kubeconfig",
            value: "a secret (value hidden) that is not a kubeconfig",
            expected: CONFIG_KEYS.kubeconfig.form,
        });
    }

    return ((): DeliverySettings => {
        switch (delivery as CredentialDelivery) {
            case "imagePullSecret":
                return {
                    kind: "imagePullSecret",
                    namespaces,
                    target: target as PullSecretTarget,
                    serviceAccounts: target === "pods" ? [] : serviceAccounts,
                    secretName,
                    kubeconfig: kubeconfig === undefined ? undefined : secret(kubeconfig),
                };
            case "federatedPullSecret":
                return {
                    kind: "federatedPullSecret",
                    namespaces,
                    target: target as PullSecretTarget,
                    serviceAccounts: target === "pods" ? [] : serviceAccounts,
                    secretName,
                    kubeconfig: kubeconfig === undefined ? undefined : secret(kubeconfig),
                    minterServiceAccount: minter,
                    refreshInterval,
                };
            case "none":
                return { kind: "none" };
            default:
                return {
                    kind: "clusterServicePrincipal",
                    roles,
                    deletePolicy: deletePolicy as BindingDeletePolicy,
                    restore:
                        restoreClientId !== undefined && restoreSecret !== undefined
                            ? { clientId: restoreClientId, secret: secret(restoreSecret) }
                            : undefined,
                    timeoutMinutes,
                };
        }
    })();
}

function credentials(
    tenant: "cluster" | "registry",
    useOidc: boolean,
    present: (key: ConfigKey) => string | undefined,
    stack: string,
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
            expected: `the client id that ${secretKey} belongs to; set it with: ${setCommand(idKey, stack)}`,
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
            expected: `the client id to federate as when useOidc is true; set it with: ${setCommand(idKey, stack)}`,
        });
    }
    if (clientId !== undefined && clientSecret === undefined && !useOidc) {
        problems.push({
            key: secretKey,
            value: undefined,
            expected: `a client secret for ${idKey} (or useOidc: true); set it with: ${setCommand(secretKey, stack)}`,
        });
    }
    return { clientId, clientSecret: clientSecret === undefined ? undefined : secret(clientSecret), useOidc };
}

/** Reads the running stack's config (every key in this project's namespace) and validates it. */
export function loadStackSettings(): StackSettings {
    const prefix = `${PROJECT}:`;
    const raw: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (fullKey.startsWith(prefix)) {
            raw[fullKey.slice(prefix.length)] = value;
        }
    }
    return parseStackConfig(raw, pulumi.getStack());
}
