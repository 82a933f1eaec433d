#!/usr/bin/env node
// The `imagestore` command: docker's and ctr's image commands over an on-disk store (the fs
// backend), printing what the docker CLI 20.10 / ctr print, with their exit codes. Each command
// is a module in ./commands/ ({ name, usage, run(store, argv) }); `serve` runs the Engine API
// server (./serve.js).
"use strict";

const { UsageError, Exit, defaultStore, parseArgs, filterMap } = require("./cli_support.js");

/**
 * Every command by name, in the order --help lists them: the module in ./commands/ that has it
 * (a module exports one command or a list of them). A new command is one module and one line.
 * Only the command run is loaded: loading all of them was a tenth of a quick command's time.
 */
const COMMAND_MODULES = {
  import: "import.js",
  load: "load.js",
  save: "save.js",
  cp: "cp.js",
  images: "images.js",
  inspect: "inspect.js",
  history: "history.js",
  tag: "tag.js",
  rmi: "rmi.js",
  system: "system.js",
  ctr: "ctr.js",
  dive: "analysis.js",
  diff: "analysis.js",
  find: "analysis.js",
  largest: "analysis.js",
};

/** The command called `name`, or undefined. */
function commandNamed(name) {
  if (!Object.hasOwn(COMMAND_MODULES, name)) return undefined;
  return [require(`./commands/${COMMAND_MODULES[name]}`)].flat().find((c) => c.name === name);
}

/** Every command, in --help's order. */
const allCommands = () => Object.keys(COMMAND_MODULES).map(commandNamed);

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
    ...allCommands().map((c) => `  ${c.usage}`),
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
  const command = commandNamed(name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  const openError = (e) => {
    throw new Exit(1, `Error: ${e.message}`);
  };
  // A command that can answer from the store's saved answers (list_answer.js) tries that first:
  // it reads the database without loading the store, which rebuilds every image's state.
  if (command.runSaved) {
    const { openMeta, storeRoot } = require("./fs_adapter.js");
    const db = await openMeta(storeRoot(storeDir)).catch(openError);
    let answered;
    try {
      answered = await command.runSaved(db, rest);
    } finally {
      await db.close();
    }
    if (answered) return 0;
  }
  const store = await openStore(storeDir).catch(openError);
  const { META } = require("./fs_adapter.js");
  const { generationOf } = require("./list_answer.js");
  const before = generationOf(store[META]);
  let code;
  try {
    code = await command.run(store, rest); // a number: the exit code (dive --ci's verdict)
    // A command that changed the store (import, load, tag, rmi) saves the list answers again
    // while the store is open, so that the next `images` prints without opening it.
    if (generationOf(store[META]) !== before) await require("./commands/images.js").refreshSaved(store).catch(() => {});
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

module.exports = { main, parseArgs, filterMap, allCommands };
