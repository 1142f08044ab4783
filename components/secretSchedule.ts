/**
 * When the client secret is minted, when it is renewed and when it expires, as a pure function of the clock.
 *
 * Every argument of an `azuread.ApplicationPassword` forces a replacement, and a new secret means a cluster
 * reset that rolls the nodes. So the password's `endDate` must not drift with the clock on every run. Instead
 * time is cut into rotation windows of `lifetime - renewBefore` days: inside one window every evaluation of the
 * program declares exactly the same `endDate`; the first run after a window ends declares the next one, which
 * is the rotation. A secret minted at any moment of window k expires at `start(k) + lifetime`, so it never lives
 * longer than `lifetime` (tenant policies that cap secret lifetimes hold) and it is renewed with at least
 * `renewBefore` days to spare.
 *
 * Window boundaries are shifted per stack by a hash of a stable key, so a fleet of stacks does not roll every
 * cluster's nodes on the same day.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SecretScheduleInput {
    /** The clock reading the program was evaluated at. */
    readonly now: Date;
    /** Lifetime of each secret in days. */
    readonly lifetimeDays: number;
    /** Days before expiry at which the secret is renewed; less than `lifetimeDays`. */
    readonly renewBeforeDays: number;
    /** A stable per-stack key (for example the application's display name) that spreads rotation days. */
    readonly phaseKey: string;
}

export interface SecretSchedule {
    /** Start of the rotation window the clock is in (UTC midnight). */
    readonly windowStart: Date;
    /** End of the window: from then on the next `pulumi up` mints a new secret. */
    readonly renewsAfter: Date;
    /** `endDate` of the window's secret. */
    readonly expiresAt: Date;
}

/** 32-bit FNV-1a: small, stable across Node versions, good enough to spread phases. */
function fnv1a(text: string): number {
    let hash = 0x811c9dc5;
    for (const byte of Buffer.from(text, "utf8")) {
        hash ^= byte;
        hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash;
}

export function secretSchedule(input: SecretScheduleInput): SecretSchedule {
    const { now, lifetimeDays, renewBeforeDays, phaseKey } = input;
    if (!Number.isInteger(lifetimeDays) || !Number.isInteger(renewBeforeDays) || renewBeforeDays < 0 || renewBeforeDays >= lifetimeDays) {
        throw new RangeError(`secret schedule needs integers 0 <= renewBeforeDays (${renewBeforeDays}) < lifetimeDays (${lifetimeDays})`);
    }
    const periodDays = lifetimeDays - renewBeforeDays;
    const phaseDays = fnv1a(phaseKey) % periodDays;
    const today = Math.floor(now.getTime() / DAY_MS);
    const window = Math.floor((today - phaseDays) / periodDays);
    const startDay = window * periodDays + phaseDays;
    return {
        windowStart: new Date(startDay * DAY_MS),
        renewsAfter: new Date((startDay + periodDays) * DAY_MS),
        expiresAt: new Date((startDay + lifetimeDays) * DAY_MS),
    };
}
