// The Neo4j GraphQL Library (v7) under Apollo Server, on the store that referral-graph uses.
// scripts/peer_benchmark.py installs the packages into a temporary folder, copies this folder
// there and runs `node server.mjs` with NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE
// and PEER_PORT set; it prints one line "ready <url>" once it answers.
import { readFileSync } from "node:fs";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import neo4j from "neo4j-driver";

const env = process.env;
const typeDefs = readFileSync(new URL("./typeDefs.graphql", import.meta.url), "utf8");
const driver = neo4j.driver(
  env.NEO4J_URI,
  neo4j.auth.basic(env.NEO4J_USER ?? "neo4j", env.NEO4J_PASSWORD ?? ""),
);
const schema = await new Neo4jGraphQL({ typeDefs, driver }).getSchema();
const server = new ApolloServer({ schema });

// ArcadeDB rejects the "CYPHER 5" prefix the library puts on every statement, and our
// database is not the driver's default one.
const context = async () => ({
  cypherQueryOptions: { addVersionPrefix: false },
  sessionConfig: { database: env.NEO4J_DATABASE ?? "neo4j" },
});

const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(env.PEER_PORT ?? 4000) },
  context,
});
console.log(`ready ${url}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await server.stop();
    await driver.close();
    process.exit(0);
  });
}
