import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const MEASURE = path.resolve(__dirname, "..", "scripts", "measureStartup.js");

interface Sample {
    readonly registered: number;
    readonly azureNativeModules: number;
    readonly azureSdkLoaded: boolean;
}

function sample(mode: string, registries: number): Sample {
    return JSON.parse(execFileSync(process.execPath, [MEASURE, "--child", mode, String(registries)], { encoding: "utf8" })) as Sample;
}

describe("program start-up", () => {
    it("loads azure-native by submodule and no Azure SDK, like a flat program declaring the same resources", () => {
        const program = sample("program", 3);
        const flat = sample("flat", 3);
        // The component itself is the one extra registration.
        assert.equal(program.registered, flat.registered + 1);
        // The full azure-native index pulls in ~260 modules; submodule imports need a handful.
        assert.ok(program.azureNativeModules <= flat.azureNativeModules, `${program.azureNativeModules} azure-native modules loaded`);
        assert.ok(program.azureNativeModules < 20);
        assert.equal(program.azureSdkLoaded, false, "the Azure SDK must load only where it is used");
    });
});
