/**
 * The one place where inputs are checked. Checks collect every problem instead of stopping at the first, and each
 * problem names the key, the offending value and the expected form, so one run tells the user everything to fix.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    CLUSTER_TENANT_ROLES,
    REGISTRY_ID_FORM,
    isAzureEnvironment,
    isGuid,
    clusterTenantRoleGuid,
    parseRegistryId,
    scopeSubscriptionId,
    type RegistryId,
} from "./azureIds";
import { DNS1123_LABEL_FORM, DNS1123_SUBDOMAIN_FORM, isDns1123Label, isDns1123Subdomain } from "./kubernetesNames";

/** One thing wrong with one input. */
export interface Problem {
    /** The config key or argument name, with an index for list items (`registryIds[1]`). */
    readonly key: string;
    /** The offending value as shown to the user, already quoted; `undefined` when the key is missing. */
    readonly value: string | undefined;
    /** What was expected, and for missing keys how to set them. */
    readonly expected: string;
}

/** Thrown when inputs are invalid; its message lists every problem, one per line. */
export class ValidationError extends Error {
    constructor(
        readonly summary: string,
        readonly problems: readonly Problem[],
    ) {
        super(`${summary}\n${problems.map(formatProblem).join("\n")}`);
        this.name = "ValidationError";
    }
}

export function formatProblem(problem: Problem): string {
    const got = problem.value === undefined ? "missing" : `got ${problem.value}`;
    return `  - ${problem.key}: ${got}; expected ${problem.expected}`;
}

/** Shows a value in a message. Long values are cut so a pasted blob cannot flood the error. */
export function show(value: unknown): string {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export const GUID_FORM = "a GUID like 00000000-0000-0000-0000-000000000000";

export function checkGuid(key: string, value: string, what: string, problems: Problem[]): void {
    if (!isGuid(value)) {
        problems.push({ key, value: show(value), expected: `${what}: ${GUID_FORM}` });
    }
}

/** Tenant ids must differ: within one tenant a managed identity and `az aks update --attach-acr` already work. */
export function checkTenantsDiffer(clusterTenantId: string, registryTenantId: string, key: string, problems: Problem[]): void {
    if (isGuid(clusterTenantId) && clusterTenantId.toLowerCase() === registryTenantId.toLowerCase()) {
        problems.push({
            key,
            value: show(registryTenantId),
            expected:
                "a tenant different from clusterTenantId (for a registry in the cluster's own tenant, attach it with a managed identity: az aks update --attach-acr)",
        });
    }
}

/** Parses every registry id, reporting shape, naming rules and case-insensitive duplicates. */
export function checkRegistryIds(key: string, values: readonly unknown[], problems: Problem[]): RegistryId[] {
    const parsed: RegistryId[] = [];
    const seenIds = new Map<string, number>();
    const seenNames = new Map<string, number>();
    if (values.length === 0) {
        problems.push({ key, value: "[]", expected: `at least one registry id: ${REGISTRY_ID_FORM}` });
    }
    values.forEach((value, index) => {
        const itemKey = `${key}[${index}]`;
        if (typeof value !== "string") {
            problems.push({ key: itemKey, value: show(value), expected: `a string: ${REGISTRY_ID_FORM}` });
            return;
        }
        const result = parseRegistryId(value);
        if ("problem" in result) {
            problems.push({ key: itemKey, value: show(value), expected: `${REGISTRY_ID_FORM} (${result.problem})` });
            return;
        }
        const firstId = seenIds.get(value.toLowerCase());
        const firstName = seenNames.get(result.registryName.toLowerCase());
        if (firstId !== undefined) {
            problems.push({
                key: itemKey,
                value: show(value),
                expected: `each registry once; it repeats ${key}[${firstId}] (ids compare case-insensitively)`,
            });
            return;
        }
        if (firstName !== undefined) {
            problems.push({
                key: itemKey,
                value: show(value),
                expected: `registry names are globally unique; "${result.registryName}" repeats the name in ${key}[${firstName}]`,
            });
            return;
        }
        seenIds.set(value.toLowerCase(), index);
        seenNames.set(result.registryName.toLowerCase(), index);
        parsed.push(result);
    });
    return parsed;
}

export const AZURE_ENVIRONMENT_FORM = "one of public, usgovernment, china";

export function checkAzureEnvironment(key: string, value: string, problems: Problem[]): void {
    if (!isAzureEnvironment(value)) {
        problems.push({ key, value: show(value), expected: AZURE_ENVIRONMENT_FORM });
    }
}

/** Entra display names allow up to 256 characters; we keep a margin and forbid padding that hides in the portal. */
export function checkApplicationName(key: string, value: string, problems: Problem[]): void {
    if (value.trim() !== value || value.length === 0 || value.length > 120) {
        problems.push({ key, value: show(value), expected: "1-120 characters without leading or trailing spaces" });
    }
}

export function checkObjectIds(key: string, values: readonly unknown[], problems: Problem[]): void {
    values.forEach((value, index) => {
        if (typeof value !== "string" || !isGuid(value)) {
            problems.push({ key: `${key}[${index}]`, value: show(value), expected: `an Entra object id, ${GUID_FORM}` });
        }
    });
}

/** Upper bound of the secret lifetime: Entra's portal offers at most 24 months. */
export const MAX_SECRET_LIFETIME_DAYS = 730;

export function checkSecretLifetime(
    keys: { readonly lifetime: string; readonly renewBefore: string },
    lifetimeDays: number,
    renewBeforeDays: number,
    problems: Problem[],
): void {
    const lifetimeOk = Number.isInteger(lifetimeDays) && lifetimeDays >= 1 && lifetimeDays <= MAX_SECRET_LIFETIME_DAYS;
    if (!lifetimeOk) {
        problems.push({
            key: keys.lifetime,
            value: show(lifetimeDays),
            expected: `an integer from 1 to ${MAX_SECRET_LIFETIME_DAYS} (days)`,
        });
    }
    if (!Number.isInteger(renewBeforeDays) || renewBeforeDays < 1) {
        problems.push({
            key: keys.renewBefore,
            value: show(renewBeforeDays),
            expected: `an integer of at least 1 (days), less than ${keys.lifetime}`,
        });
    } else if (lifetimeOk && renewBeforeDays >= lifetimeDays) {
        problems.push({
            key: keys.renewBefore,
            value: show(renewBeforeDays),
            expected: `fewer days than ${keys.lifetime} (${lifetimeDays}), so each secret is used before it is renewed`,
        });
    }
}

/** A role the cluster's principal needs in tenant A, as given by the user. */
export interface ClusterTenantRole {
    /** ARM scope at or below a subscription, for example a VNet subnet id. */
    readonly scope: string;
    /** A role name (NetworkContributor, Contributor, Reader) or a role definition GUID. */
    readonly role: string;
}

/** A checked cluster-tenant role: the GUID resolved and the scope's subscription known. */
export interface ResolvedClusterTenantRole extends ClusterTenantRole {
    readonly roleGuid: string;
    readonly subscriptionId: string;
}

export const CLUSTER_TENANT_ROLE_FORM = `{ scope: /subscriptions/<guid>/..., role: ${Object.keys(CLUSTER_TENANT_ROLES).join(" | ")} | <role definition GUID> }`;

export function checkClusterTenantRoles(key: string, values: readonly unknown[], problems: Problem[]): ResolvedClusterTenantRole[] {
    const resolved: ResolvedClusterTenantRole[] = [];
    const seen = new Set<string>();
    values.forEach((value, index) => {
        const itemKey = `${key}[${index}]`;
        const item = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
        const scope = typeof item?.scope === "string" ? item.scope : undefined;
        const role = typeof item?.role === "string" ? item.role : undefined;
        const subscriptionId = scope === undefined ? undefined : scopeSubscriptionId(scope);
        const roleGuid = role === undefined ? undefined : clusterTenantRoleGuid(role);
        if (subscriptionId === undefined || roleGuid === undefined || scope === undefined || role === undefined) {
            problems.push({ key: itemKey, value: show(value), expected: CLUSTER_TENANT_ROLE_FORM });
            return;
        }
        const identity = `${scope.toLowerCase()}|${roleGuid}`;
        if (seen.has(identity)) {
            problems.push({ key: itemKey, value: show(value), expected: "each scope and role once (scopes compare case-insensitively)" });
            return;
        }
        seen.add(identity);
        resolved.push({ scope, role, roleGuid, subscriptionId });
    });
    return resolved;
}

/**
 * Checks a list of Kubernetes names (namespaces: DNS-1123 labels; service accounts: DNS-1123 subdomains), each once.
 * `required` makes an empty list a problem. Returns the names that passed, in order.
 */
export function checkKubernetesNames(
    key: string,
    values: readonly unknown[],
    kind: "label" | "subdomain",
    required: boolean,
    problems: Problem[],
): string[] {
    const form = kind === "label" ? DNS1123_LABEL_FORM : DNS1123_SUBDOMAIN_FORM;
    const valid = kind === "label" ? isDns1123Label : isDns1123Subdomain;
    if (required && values.length === 0) {
        problems.push({ key, value: "[]", expected: `at least one name, each ${form}` });
    }
    const seen = new Map<string, number>();
    const names: string[] = [];
    values.forEach((value, index) => {
        const itemKey = `${key}[${index}]`;
        if (typeof value !== "string" || !valid(value)) {
            problems.push({ key: itemKey, value: show(value), expected: form });
            return;
        }
        const first = seen.get(value);
        if (first !== undefined) {
            problems.push({ key: itemKey, value: show(value), expected: `each name once; it repeats ${key}[${first}]` });
            return;
        }
        seen.set(value, index);
        names.push(value);
    });
    return names;
}

/** Checks one Kubernetes object name (a Secret's), a DNS-1123 subdomain. */
export function checkKubernetesName(key: string, value: string, problems: Problem[]): void {
    if (!isDns1123Subdomain(value)) {
        problems.push({ key, value: show(value), expected: DNS1123_SUBDOMAIN_FORM });
    }
}

/** A date (`YYYY-MM-DD` or an ISO 8601 timestamp) no later than `now`. */
export function checkPastDate(key: string, value: string, now: Date, problems: Problem[]): void {
    const time = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(time) || time > now.getTime()) {
        problems.push({
            key,
            value: show(value),
            expected: "an ISO 8601 date no later than today, e.g. 2026-05-01 (the secretWindowAnchor output of the stack)",
        });
    }
}

/** Throws one `ValidationError` for all problems, or returns quietly. */
export function throwIfProblems(summary: (count: number) => string, problems: readonly Problem[]): void {
    if (problems.length > 0) {
        throw new ValidationError(summary(problems.length), problems);
    }
}

/**
 * Stops the run from inside a check that reads the cluster or Azure (in previews too). The message goes out as a
 * diagnostic of its own on `parent`; the error that stops the program reaches the engine through every resource
 * that waited on the check, wrapped in their property names, so it only points at the diagnostic.
 */
export function refuseRun(check: string, message: string, parent: pulumi.Resource): never {
    void pulumi.log.error(message, parent);
    throw new pulumi.RunError(`The ${check} check failed (see the error above): ${message}`);
}
