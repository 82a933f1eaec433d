#!/usr/bin/env node
// The `imagestore` command: docker's and ctr's image commands over an on-disk store (the fs
// backend), printing what the docker CLI 20.10 / ctr print, with their exit codes. Each command
// is a module in ./commands/ ({ name, usage, run(store, argv) }); `serve` runs the Engine API
// server (./serve.js).
"use strict";

const { UsageError, Exit, defaultStore, parseArgs, filterMap } = require("./cli_support.js");

/** Every command, in the order --help lists them. A new command is one module and one line. */
const COMMANDS = [
  require("./commands/import.js"),
  require("./commands/load.js"),
  require("./commands/save.js"),
  require("./commands/cp.js"),
  require("./commands/images.js"),
  require("./commands/inspect.js"),
  require("./commands/history.js"),
  require("./commands/tag.js"),
  require("./commands/rmi.js"),
  require("./commands/system.js"),
  require("./commands/ctr.js"),
  ...require("./commands/analysis.js"),
];

/** docker's `image SUBCOMMAND` spellings. */
const IMAGE_ALIASES = { ls: "images", list: "images", rm: "rmi", inspect: "inspect", history: "history", tag: "tag", import: "import", load: "load", save: "save" };

function usage() {
  return [
    "Usage: imagestore [--store DIR] COMMAND",
    "",
    "A Docker/containerd image store on disk (default: $IMAGESTORE_STORE, else",
    "$XDG_DATA_HOME/imagestore or ~/.local/share/imagestore).",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.usage}`),
    "  serve [--host unix:///path.sock | tcp://127.0.0.1:PORT]   the Engine API v1.41 for images",
    "",
  ].join("\n");
}

async function openStore(dir) {
  const { Store } = require("./index.js");
  return Store.open("imagestore", { backend: "fs", path: dir });
}

async function main(argv) {
  let storeDir = defaultStore();
  while (argv[0]?.startsWith("--store")) {
    if (argv[0].includes("=")) storeDir = argv.shift().slice("--store=".length);
    else {
      argv.shift();
      storeDir = argv.shift();
    }
  }
  let [name, ...rest] = argv;
  if (name === "image" && IMAGE_ALIASES[rest[0]]) {
    name = IMAGE_ALIASES[rest[0]];
    rest = rest.slice(1);
  }
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return 0;
  }
  if (name === "serve") return require("./serve.js").main(storeDir, rest);
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  const store = await openStore(storeDir).catch((e) => {
    throw new Exit(1, `Error: ${e.message}`);
  });
  let code;
  try {
    code = await command.run(store, rest); // a number: the exit code (dive --ci's verdict)
  } finally {
    store.close();
    await store.whenClosed;
  }
  // Only a number is an exit code; commands may end with whatever their last write returned.
  return typeof code === "number" ? code : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code) process.exitCode = code;
    },
    (e) => {
      if (e instanceof UsageError) {
        process.stderr.write(`imagestore: ${e.message}\nSee 'imagestore --help'.\n`);
        process.exitCode = 125;
      } else if (e instanceof Exit) {
        process.stderr.write(e.message + "\n");
        process.exitCode = e.exitCode;
      } else {
        process.stderr.write(`Error: ${e.message}\n`);
        process.exitCode = 1;
      }
    },
  );
}

module.exports = { main, parseArgs, filterMap, COMMANDS };
