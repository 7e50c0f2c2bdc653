// Drives Edge Impulse's Node SDK (LinuxImpulseRunner of the npm package edge-impulse-linux) against a
// model file, for tests/ei_linux.py:  node ei_linux_runner.js RUNNER_JS MODEL_EIM REQUESTS_JSON
// Prints one JSON line for the model information, then one per request: the SDK's answer, or
// {"error": message} when the runner refused it.
'use strict';
const fs = require('fs');

async function main() {
    const [runnerJs, eim, requestsPath] = process.argv.slice(2);
    const { LinuxImpulseRunner } = require(runnerJs);
    const requests = JSON.parse(fs.readFileSync(requestsPath, 'utf-8'));
    const runner = new LinuxImpulseRunner(eim);
    console.log(JSON.stringify(await runner.init()));
    for (const request of requests) {
        try {
            const answer = request.classify_continuous
                ? await runner.classifyContinuous(request.classify_continuous)
                : await runner.classify(request.classify);
            console.log(JSON.stringify(answer));
        } catch (err) {
            console.log(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
        }
    }
    await runner.stop();
}

// the SDK leaves a 60 s timer per request running, so leave explicitly once done
main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
