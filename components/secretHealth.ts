/**
 * Is the deployed client secret due for renewal or already expired? A pure function of the deployed secret's
 * dates and the clock, so the messages `pulumi preview` prints are tested with a controlled clock.
 */

/** Dates of the secret currently deployed (read back from the application's tags). */
export interface DeployedSecretDates {
    /** When the deployed secret expires (ISO 8601); absent before the first deployment. */
    readonly expiresAt?: string;
    /** From when the deployed secret is due for renewal (ISO 8601). */
    readonly renewsAfter?: string;
}

/** Prefix of the application tags that carry the current secret's dates. */
const TAG_PREFIX = "aks-acr-cross-tenant:";
const EXPIRES_AT_TAG = `${TAG_PREFIX}secret-expires-at=`;
const RENEWS_AFTER_TAG = `${TAG_PREFIX}secret-renews-after=`;

/** The application tags that record the current secret's dates (readable in the portal too). */
export function secretTags(schedule: { readonly expiresAt: string; readonly renewsAfter: string }): string[] {
    return [`${EXPIRES_AT_TAG}${schedule.expiresAt}`, `${RENEWS_AFTER_TAG}${schedule.renewsAfter}`];
}

/** The secret dates recorded in an application's tags; other tags, and dates that do not parse, are ignored. */
export function secretDatesFromTags(tags: readonly string[]): DeployedSecretDates {
    const find = (prefix: string): string | undefined => {
        const value = tags.find((tag) => tag.startsWith(prefix))?.slice(prefix.length);
        return value !== undefined && !Number.isNaN(Date.parse(value)) ? value : undefined;
    };
    return { expiresAt: find(EXPIRES_AT_TAG), renewsAfter: find(RENEWS_AFTER_TAG) };
}

export type SecretHealth = { readonly level: "ok" } | { readonly level: "renewal-due" | "expired"; readonly message: string };

function day(iso: string): string {
    return iso.slice(0, 10);
}

/**
 * What an expired secret breaks, and what renewing does, for whatever holds the secret: each delivery that hands the
 * secret on says it in its folder (`secretConsequences`). Only a cluster whose own service principal is the
 * application also loses the management of its Azure resources.
 */
export interface SecretConsequences {
    /** Completes "The AKS cluster's client secret expired on <day>: ...". */
    readonly expired: string;
    /** Completes "... mints a new secret and ...": what renewing does with it. */
    readonly renewal: string;
}

/** The wording when the delivery is not known: true for every delivery. */
export const ANY_DELIVERY_CONSEQUENCES: SecretConsequences = {
    expired:
        "the cluster cannot pull from the registries with it (and if it is the cluster's own service principal, as with clusterServicePrincipal, the cluster cannot manage its Azure resources either)",
    renewal: "delivers it",
};

/**
 * `renewal-due` from `renewsAfter`, `expired` from `expiresAt`, `ok` otherwise (and when nothing is deployed yet).
 * Messages name the date, what the secret's state breaks (`consequence`, the delivery's; worded for every delivery
 * when it is not given), and the command that fixes it.
 */
export function secretHealth(
    deployed: DeployedSecretDates,
    now: Date,
    stack: string,
    consequence: SecretConsequences = ANY_DELIVERY_CONSEQUENCES,
): SecretHealth {
    const expiresAt = deployed.expiresAt ? Date.parse(deployed.expiresAt) : Number.NaN;
    const renewsAfter = deployed.renewsAfter ? Date.parse(deployed.renewsAfter) : Number.NaN;
    const command = `pulumi up --stack ${stack}`;
    if (!Number.isNaN(expiresAt) && now.getTime() >= expiresAt) {
        return {
            level: "expired",
            message:
                `The AKS cluster's client secret expired on ${day(deployed.expiresAt ?? "")}: ${consequence.expired}. ` +
                `Run \`${command}\` now: it mints a new secret and ${consequence.renewal}.`,
        };
    }
    if (!Number.isNaN(renewsAfter) && now.getTime() >= renewsAfter) {
        return {
            level: "renewal-due",
            message:
                `The AKS cluster's client secret expires on ${day(deployed.expiresAt ?? "")} and has been due for renewal since ${day(deployed.renewsAfter ?? "")}. ` +
                `\`${command}\` mints a new secret, ${consequence.renewal} and then deletes the old one; run it if this is a preview.`,
        };
    }
    return { level: "ok" };
}
