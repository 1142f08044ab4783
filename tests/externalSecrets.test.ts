import * as assert from "node:assert/strict";
import { goDuration, isRefreshInterval } from "../components/deliveries/federatedPullSecret/externalSecrets";

describe("refresh intervals in Go's form", () => {
    it("writes every accepted interval as time.Duration prints it, which ESO writes back", () => {
        assert.deepEqual(["5m", "30m", "60m", "1h", "90m", "2h"].map(goDuration), [
            "5m0s",
            "30m0s",
            "1h0m0s",
            "1h0m0s",
            "1h30m0s",
            "2h0m0s",
        ]);
    });

    it("refuses what the config refuses", () => {
        assert.equal(isRefreshInterval("1h0m0s"), false);
        assert.throws(() => goDuration("1h0m0s"), /not a refresh interval: 1h0m0s/);
    });
});
