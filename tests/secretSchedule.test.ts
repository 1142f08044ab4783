import * as assert from "node:assert/strict";
import { secretSchedule } from "../components/secretSchedule";

const DAY = 24 * 60 * 60 * 1000;
const base = { lifetimeDays: 180, renewBeforeDays: 30, phaseKey: "tenant-a/aks-prod-acr-pull-prod" };

describe("secretSchedule", () => {
    it("declares the same end date an hour and a week later within a window", () => {
        const first = secretSchedule({ ...base, now: new Date("2026-11-28T10:00:00Z") });
        // Move to the start of the window so "a week later" stays inside it whatever the phase.
        const start = first.windowStart.getTime();
        const inWindow = secretSchedule({ ...base, now: new Date(start + 3_600_000) });
        for (const later of [start + 2 * 3_600_000, start + 7 * DAY, first.renewsAfter.getTime() - 1]) {
            assert.deepEqual(secretSchedule({ ...base, now: new Date(later) }), inWindow);
        }
    });

    it("moves to the next window exactly when renewal is due", () => {
        const current = secretSchedule({ ...base, now: new Date("2026-11-28T10:00:00Z") });
        const next = secretSchedule({ ...base, now: current.renewsAfter });
        assert.equal(next.windowStart.getTime(), current.renewsAfter.getTime());
        assert.equal(next.expiresAt.getTime() - current.expiresAt.getTime(), 150 * DAY);
    });

    it("never mints a secret that lives longer than the lifetime, and renews it with renewBefore days to spare", () => {
        for (let day = 0; day < 400; day += 7) {
            const now = new Date(Date.UTC(2026, 0, 1) + day * DAY + 13 * 3_600_000);
            const s = secretSchedule({ ...base, now });
            assert.ok(s.expiresAt.getTime() - now.getTime() <= 180 * DAY, `lifetime exceeded at ${now.toISOString()}`);
            assert.ok(s.windowStart.getTime() <= now.getTime() && now.getTime() < s.renewsAfter.getTime());
            assert.equal(s.expiresAt.getTime() - s.renewsAfter.getTime(), 30 * DAY);
            assert.equal(s.windowStart.getUTCHours(), 0);
        }
    });

    it("spreads rotation days across stacks", () => {
        const now = new Date("2026-11-28T10:00:00Z");
        const starts = new Set(
            ["a", "b", "c", "d", "e", "f"].map((key) => secretSchedule({ ...base, phaseKey: key, now }).windowStart.toISOString()),
        );
        assert.ok(starts.size > 1, "every stack rotates on the same day");
    });

    it("rejects a renewal window as long as the lifetime", () => {
        assert.throws(() => secretSchedule({ ...base, renewBeforeDays: 180, now: new Date() }), RangeError);
        assert.throws(() => secretSchedule({ ...base, lifetimeDays: 1.5, now: new Date() }), RangeError);
    });
});
