/**
 * The generated reference parts of the docs and of Pulumi.yaml are what the code declares today: the key table of
 * docs/configuration.md and Pulumi.yaml's `config:` block from the keys the grant and the deliveries declare, and
 * docs/resources.md from the graph the program declares for each delivery under the mocks. A page that differs
 * fails here, naming the command that regenerates it.
 */
import * as assert from "node:assert/strict";
import { expectedFiles } from "../scripts/referenceDocs";

describe("generated reference docs", () => {
    it("match what the code declares (regenerate them with npm run docs)", async function () {
        this.timeout(60000);
        const stale: string[] = [];
        for (const [file, { committed, expected }] of await expectedFiles()) {
            if (committed !== expected) stale.push(file);
        }
        assert.deepEqual(stale, [], `${stale.join(", ")} differ from what the code declares: run npm run docs and commit the result`);
    });
});
