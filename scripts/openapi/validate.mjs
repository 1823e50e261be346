// swagger-parser validates each document against the OpenAPI schema of its
// version (3.1 or 3.0) and resolves every $ref; any problem fails the run.
import SwaggerParser from "@apidevtools/swagger-parser";

let failed = false;
for (const file of process.argv.slice(2)) {
  try {
    const api = await SwaggerParser.validate(file);
    console.log(`swagger-parser: ${file}: valid OpenAPI ${api.openapi}`);
  } catch (err) {
    failed = true;
    console.error(`swagger-parser: ${file}: ${err.message}`);
  }
}
process.exit(failed ? 1 : 0);
