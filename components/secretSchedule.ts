/**
 * When the client secret is minted, when it is renewed and when it expires, as a pure function of the clock and an
 * anchor day.
 *
 * Every argument of an `azuread.ApplicationPassword` forces a replacement, and a new secret means a cluster
 * reset that rolls the nodes. So the password's `endDate` must not drift with the clock on every run. Instead
 * time is cut into rotation windows of `lifetime - renewBefore` days counted from the anchor: inside one window
 * every evaluation of the program declares exactly the same `endDate`; the first run after a window ends declares
 * the next one, which is the rotation. A secret minted at any moment of window k expires at
 * `start(k) + lifetime`, so it never lives longer than `lifetime` (tenant policies that cap secret lifetimes
 * hold) and it is renewed with at least `renewBefore` days to spare.
 *
 * The component anchors the windows on the day it first deployed a secret (kept in its own state), so the first
 * secret gets a full window like every later one, and stacks deployed on different days rotate on different days.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SecretScheduleInput {
    /** The clock reading the program was evaluated at. */
    readonly now: Date;
    /** Lifetime of each secret in days. */
    readonly lifetimeDays: number;
    /** Days before expiry at which the secret is renewed; less than `lifetimeDays`. */
    readonly renewBeforeDays: number;
    /** The day rotation windows are counted from (only its UTC date matters). */
    readonly anchor: Date;
}

export interface SecretSchedule {
    /** Start of the rotation window the clock is in (UTC midnight). */
    readonly windowStart: Date;
    /** End of the window: from then on the next `pulumi up` mints a new secret. */
    readonly renewsAfter: Date;
    /** `endDate` of the window's secret. */
    readonly expiresAt: Date;
}

function periodOf(lifetimeDays: number, renewBeforeDays: number): number {
    if (!Number.isInteger(lifetimeDays) || !Number.isInteger(renewBeforeDays) || renewBeforeDays < 0 || renewBeforeDays >= lifetimeDays) {
        throw new RangeError(`secret schedule needs integers 0 <= renewBeforeDays (${renewBeforeDays}) < lifetimeDays (${lifetimeDays})`);
    }
    return lifetimeDays - renewBeforeDays;
}

/** UTC midnight of the day `date` falls on. */
export function startOfDay(date: Date): Date {
    return new Date(Math.floor(date.getTime() / DAY_MS) * DAY_MS);
}

export function secretSchedule(input: SecretScheduleInput): SecretSchedule {
    const { now, lifetimeDays, renewBeforeDays, anchor } = input;
    const periodDays = periodOf(lifetimeDays, renewBeforeDays);
    const anchorDay = Math.floor(anchor.getTime() / DAY_MS);
    const today = Math.floor(now.getTime() / DAY_MS);
    const startDay = anchorDay + Math.floor((today - anchorDay) / periodDays) * periodDays;
    return {
        windowStart: new Date(startDay * DAY_MS),
        renewsAfter: new Date((startDay + periodDays) * DAY_MS),
        expiresAt: new Date((startDay + lifetimeDays) * DAY_MS),
    };
}
