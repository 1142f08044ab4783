import * as assert from "node:assert/strict";
import { secretSchedule, startOfDay } from "../components/secretSchedule";

const DAY = 24 * 60 * 60 * 1000;
const FIRST_DEPLOY = new Date("2026-11-28T10:00:00Z");
const base = { lifetimeDays: 180, renewBeforeDays: 30, anchor: FIRST_DEPLOY };

describe("secretSchedule", () => {
    it("gives the first secret a full window from the anchor day", () => {
        assert.deepEqual(secretSchedule({ ...base, now: FIRST_DEPLOY }), {
            windowStart: new Date("2026-11-28T00:00:00Z"),
            renewsAfter: new Date(Date.parse("2026-11-28T00:00:00Z") + 150 * DAY),
            expiresAt: new Date(Date.parse("2026-11-28T00:00:00Z") + 180 * DAY),
        });
    });

    it("declares the same end date an hour and a week later within a window", () => {
        const first = secretSchedule({ ...base, now: FIRST_DEPLOY });
        for (const later of [FIRST_DEPLOY.getTime() + 3_600_000, FIRST_DEPLOY.getTime() + 7 * DAY, first.renewsAfter.getTime() - 1]) {
            assert.deepEqual(secretSchedule({ ...base, now: new Date(later) }), first);
        }
    });

    it("moves to the next window exactly when renewal is due", () => {
        const current = secretSchedule({ ...base, now: FIRST_DEPLOY });
        const next = secretSchedule({ ...base, now: current.renewsAfter });
        assert.equal(next.windowStart.getTime(), current.renewsAfter.getTime());
        assert.equal(next.expiresAt.getTime() - current.expiresAt.getTime(), 150 * DAY);
    });

    it("never mints a secret that lives longer than the lifetime, and renews it with renewBefore days to spare", () => {
        for (const anchor of [FIRST_DEPLOY, new Date("2025-02-03T00:00:00Z")]) {
            for (let day = 0; day < 400; day += 7) {
                const now = new Date(Date.UTC(2026, 0, 1) + day * DAY + 13 * 3_600_000);
                const s = secretSchedule({ ...base, anchor, now });
                assert.ok(s.expiresAt.getTime() - now.getTime() <= 180 * DAY, `lifetime exceeded at ${now.toISOString()}`);
                assert.ok(s.windowStart.getTime() <= now.getTime() && now.getTime() < s.renewsAfter.getTime());
                assert.equal(s.expiresAt.getTime() - s.renewsAfter.getTime(), 30 * DAY);
                assert.equal(s.windowStart.getUTCHours(), 0);
            }
        }
    });

    it("counts days in UTC", () => {
        assert.equal(startOfDay(FIRST_DEPLOY).toISOString(), "2026-11-28T00:00:00.000Z");
        assert.equal(startOfDay(new Date("2026-11-28T23:59:59.999-05:00")).toISOString(), "2026-11-29T00:00:00.000Z");
    });

    it("rejects a renewal window as long as the lifetime", () => {
        assert.throws(() => secretSchedule({ ...base, renewBeforeDays: 180, now: new Date() }), RangeError);
        assert.throws(() => secretSchedule({ ...base, lifetimeDays: 1.5, renewBeforeDays: 0, now: new Date() }), RangeError);
    });
});
