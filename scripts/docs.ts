/**
 * `npm run docs`: regenerates the reference parts of the docs and of Pulumi.yaml from the code
 * (`scripts/referenceDocs.ts` says which and how).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expectedFiles, ROOT } from "./referenceDocs";

async function main(): Promise<void> {
    for (const [file, { committed, expected }] of await expectedFiles()) {
        if (committed !== expected) {
            fs.writeFileSync(path.join(ROOT, file), expected);
            console.log(`wrote ${file}`);
        } else {
            console.log(`${file} is up to date`);
        }
    }
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error instanceof Error ? error.message : String(error));
        process.exit(1);
    },
);
