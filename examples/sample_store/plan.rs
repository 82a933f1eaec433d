//! What goes into the sample store: a few pulled base images, then a history of builds with
//! Docker's legacy builder (one image per Dockerfile step, each linked to its parent), some
//! rebuilt (the old result is left dangling), some untagged, a `docker commit`, and FROM
//! scratch images. The clock only moves forward, so `created` times are plausible.

use super::config::{ContainerConfig, Empty, Healthcheck, History, ImageConfig, RootFs};
use super::layer::{build_layer, Member};
use super::members::{self, Scale};
use super::rng::Rng;
use super::store::SampleStore;
use imagestore::digest::Digest;
use imagestore::formats::gotime::GoTime;
use std::collections::BTreeMap;

pub struct Options {
    /// Number of images (configs) in the store, intermediate ones included.
    pub images: usize,
    pub seed: u64,
    /// File sizes in percent of the realistic ones.
    pub scale_percent: u64,
}

pub fn generate(opts: &Options) -> SampleStore {
    let mut p = Planner::new(opts);
    p.pull_bases();
    while p.room() > 0 {
        p.next_build();
    }
    p.store
}

const DOCKER_VERSION: &str = "20.10.24";
const BASE_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Builds happen between these two dates (2024-03-01 and 2025-10-31).
const FIRST_BUILD: i64 = 1_709_283_600;
const LAST_BUILD: i64 = 1_761_868_800;

/// How a family of images installs packages and where its libraries live.
#[derive(Clone, Copy, PartialEq)]
enum Family {
    Alpine,
    Debian,
    Python,
    Node,
}

impl Family {
    fn libdir(self) -> &'static str {
        match self {
            Family::Alpine | Family::Node => "usr/lib",
            Family::Debian | Family::Python => "usr/lib/x86_64-linux-gnu",
        }
    }
}

/// An image in a build: the FROM image or the result of a step.
#[derive(Clone)]
struct Stage {
    /// `None` for `FROM scratch`.
    id: Option<Digest>,
    config: ImageConfig,
    /// Chain ID of the top layer.
    chain: Option<Digest>,
    family: Family,
}

#[derive(Clone)]
enum Step {
    Label(Vec<(String, String)>),
    Env(Vec<(String, String)>),
    Workdir(String),
    Expose(String),
    User(String),
    Volume(String),
    Healthcheck(Vec<String>),
    StopSignal(String),
    Entrypoint(Vec<String>),
    Cmd(Vec<String>),
    Copy { source: String, dest: String, members: Vec<Member> },
    Run { command: String, members: Vec<Member> },
}

struct Build {
    repo: String,
    tags: Vec<String>,
    /// `stages[0]` is the FROM image; `stages[i]` the result of `steps[i-1]`.
    stages: Vec<Stage>,
    steps: Vec<Step>,
}

struct Planner {
    rng: Rng,
    store: SampleStore,
    target: usize,
    scale: Scale,
    clock: GoTime,
    build_gap: i64,
    bases: Vec<Stage>,
    builds: Vec<Build>,
    versions: BTreeMap<String, u32>,
}

const APPS: &[&str] = &[
    "api",
    "web",
    "worker",
    "auth",
    "billing",
    "search",
    "gateway",
    "metrics",
    "notifier",
    "scheduler",
    "cache",
    "ingest",
    "reports",
    "frontend",
    "admin",
    "payments",
    "inventory",
    "mailer",
    "thumbnails",
    "exporter",
];
const REGISTRIES: &[&str] = &["local", "registry.example.com:5000/team", "ghcr.io/example"];
const TEAMS: &[&str] = &["platform@example.org", "data@example.org", "web@example.org"];

impl Planner {
    fn new(opts: &Options) -> Planner {
        // Bases take ~5 images and a build ~8; spread the builds evenly over the period.
        let expected_builds = (opts.images as i64 / 8).max(1);
        Planner {
            rng: Rng::new(opts.seed),
            store: SampleStore::default(),
            target: opts.images,
            scale: Scale(opts.scale_percent),
            clock: GoTime::from_unix(FIRST_BUILD - 20 * 86_400, 0),
            build_gap: (LAST_BUILD - FIRST_BUILD) / expected_builds,
            bases: Vec::new(),
            builds: Vec::new(),
            versions: BTreeMap::new(),
        }
    }

    fn room(&self) -> usize {
        self.target.saturating_sub(self.store.len())
    }

    /// Moves the clock a few seconds on (one build step) and returns it with random nanos.
    fn tick(&mut self, max_secs: u64) -> GoTime {
        self.clock = self.clock.plus_secs(self.rng.range(1, max_secs) as i64);
        self.clock = GoTime::from_unix(self.clock.unix(), self.rng.below(1_000_000_000) as u32);
        self.clock
    }

    fn layer(&mut self, parent: Option<&Digest>, members: &[Member], mtime: GoTime) -> (Digest, Digest) {
        let layer = build_layer(members, mtime.unix().max(0) as u64);
        let diff_id = layer.diff_id.clone();
        let cache_id = self.rng.hex64();
        (self.store.add_layer(parent, layer, cache_id), diff_id)
    }

    // ---- pulled base images ------------------------------------------------------------

    fn pull_bases(&mut self) {
        let r = &mut self.rng;
        let busybox = vec![("ADD", members::rootfs(r, self.scale, 2_100_000, 40, "lib"))];
        let alpine = vec![("ADD", members::rootfs(r, self.scale, 7_300_000, 90, "usr/lib"))];
        let debian = vec![("ADD", members::rootfs(r, self.scale, 74_800_000, 600, Family::Debian.libdir()))];
        let python = vec![
            ("RUN set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates netbase tzdata; rm -rf /var/lib/apt/lists/*",
             members::packages(r, self.scale, &["tzdata", "netbase", "openssl"], 3_600_000, Family::Debian.libdir(), "usr/share/doc")),
            ("RUN set -eux; wget -O python.tar.xz \"$PYTHON_URL\"; ./configure --enable-optimizations; make -j \"$(nproc)\"; make install",
             members::packages(r, self.scale, &["python3.12", "pip3", "idle3"], 41_200_000, "usr/local/lib", "usr/local/lib/python3.12")),
        ];
        let node = vec![
            ("RUN addgroup -g 1000 node && adduser -u 1000 -G node -s /bin/sh -D node && apk add --no-cache libstdc++ && tar -xf node.tar.xz -C /usr/local",
             members::packages(r, self.scale, &["node", "npm", "npx", "corepack"], 38_900_000, "usr/local/lib", "usr/local/lib/node_modules")),
            ("COPY", members::single_file(r, self.scale, "usr/local/bin/docker-entrypoint.sh", 388)),
        ];

        let at = |days_before: i64| GoTime::from_unix(FIRST_BUILD - days_before * 86_400, 0);
        self.pull("busybox", &["1.36", "latest"], None, busybox, Family::Alpine, at(40), &["sh"], None);
        let alpine = self.pull("alpine", &["3.20", "latest"], None, alpine, Family::Alpine, at(35), &["/bin/sh"], None);
        let debian = self.pull("debian", &["bookworm-slim"], None, debian, Family::Debian, at(30), &["bash"], None);
        if let Some(d) = debian {
            self.pull("python", &["3.12-slim"], Some(&d), python, Family::Python, at(28), &["python3"], None);
        }
        if let Some(a) = alpine {
            let ep = vec!["docker-entrypoint.sh".to_string()];
            self.pull("node", &["20-alpine"], Some(&a), node, Family::Node, at(25), &["node"], Some(ep));
        }
    }

    /// A pulled image: its layers (sharing `from`'s), its history, tags and a repo digest.
    /// Pulled images have no parent link.
    #[allow(clippy::too_many_arguments)]
    fn pull(
        &mut self,
        name: &str,
        tags: &[&str],
        from: Option<&Stage>,
        layers: Vec<(&str, Vec<Member>)>,
        family: Family,
        created: GoTime,
        cmd: &[&str],
        entrypoint: Option<Vec<String>>,
    ) -> Option<Stage> {
        if self.room() == 0 {
            return None;
        }
        let mut config = match from {
            Some(f) => f.config.clone(),
            None => empty_config(),
        };
        let mut chain = from.and_then(|f| f.chain.clone());
        let mut t = created.plus_secs(3600);
        for (what, files) in layers {
            t = GoTime::from_unix(
                t.plus_secs(self.rng.range(5, 300) as i64).unix(),
                self.rng.below(1_000_000_000) as u32,
            );
            let created_by = match what {
                "ADD" | "COPY" => format!("/bin/sh -c #(nop) {what} file:{} in / ", self.rng.hex64()),
                run => format!("/bin/sh -c {}", run.trim_start_matches("RUN ")),
            };
            let (c, diff) = self.layer(chain.as_ref(), &files, t);
            chain = Some(c);
            config.rootfs.diff_ids.push(diff);
            config.history.push(History { created: t.to_rfc3339_nano(), created_by, ..Default::default() });
        }
        let mut cfg = config.config.clone();
        cfg.env = Some(vec![BASE_PATH.to_string()]);
        cfg.cmd = Some(cmd.iter().map(|s| s.to_string()).collect());
        let history_cmd = format!("CMD {}", go_list(cmd));
        if let Some(ep) = &entrypoint {
            t = t.plus_secs(1);
            let by = format!("/bin/sh -c #(nop)  ENTRYPOINT {}", go_list(ep));
            config.history.push(History {
                created: t.to_rfc3339_nano(),
                created_by: by,
                empty_layer: true,
                ..Default::default()
            });
            cfg.entrypoint = Some(ep.clone());
        }
        t = t.plus_secs(1);
        config.history.push(History {
            created: t.to_rfc3339_nano(),
            created_by: format!("/bin/sh -c #(nop)  {history_cmd}"),
            empty_layer: true,
            ..Default::default()
        });
        config.container = self.rng.hex64();
        config.container_config = nop_config(&cfg, &config.container, vec!["#(nop) ".into(), history_cmd]);
        cfg.image = format!("sha256:{}", self.rng.hex64());
        config.config = cfg;
        config.created = t.to_rfc3339_nano();
        config.docker_version = "20.10.23".into();
        let id = self.store.add_image(&config, None);
        for tag in tags {
            self.store.tag(name, tag, &id, GoTime::from_unix(FIRST_BUILD - 86_400, 0));
        }
        let manifest = Digest::sha256_of(self.rng.hex64().as_bytes());
        self.store.add_digest_ref(name, &manifest, &id);
        for diff in &config.rootfs.diff_ids {
            let blob = Digest::sha256_of(format!("compressed {diff}").as_bytes());
            self.store.diffid_by_digest.insert(blob.hex().to_string(), diff.clone());
        }
        let stage = Stage { id: Some(id), config, chain, family };
        self.bases.push(stage.clone());
        Some(stage)
    }

    // ---- builds ----------------------------------------------------------------------------

    /// The first builds always show the interesting cases (every config field and odd file
    /// names, a rebuild leaving a dangling image, an image without layers), so that even a
    /// small store has them; after that the kind of build is random.
    fn next_build(&mut self) {
        self.clock = self.clock.plus_secs(self.build_gap / 2 + self.rng.below(self.build_gap.max(1) as u64) as i64);
        match self.builds.len() {
            0 => return self.new_build(true),
            1 if self.rebuild(Some(0)) => return,
            2 => return self.scratch_build(false),
            _ => {}
        }
        let roll = self.rng.below(100);
        if roll < 12 && self.rebuild(None) {
            return;
        }
        match roll {
            12..=19 => self.untagged_build(),
            20..=22 => self.commit(),
            23..=25 => {
                let with_binary = self.rng.chance(70);
                self.scratch_build(with_binary)
            }
            _ => self.new_build(false),
        }
    }

    /// A FROM image: usually a base, sometimes an earlier application image.
    fn pick_from(&mut self) -> Stage {
        let tagged: Vec<usize> = (0..self.builds.len()).filter(|&i| self.builds[i].stages.len() > 1).collect();
        if !tagged.is_empty() && self.rng.chance(12) {
            let b = &self.builds[*self.rng.pick(&tagged)];
            return b.stages.last().unwrap().clone();
        }
        if self.bases.is_empty() {
            return scratch_stage();
        }
        self.rng.pick(&self.bases).clone()
    }

    fn new_build(&mut self, showcase: bool) {
        let from = if showcase { self.bases.last().cloned().unwrap_or_else(scratch_stage) } else { self.pick_from() };
        let app = *self.rng.pick(APPS);
        let repo = format!("{}/{app}", self.rng.pick(REGISTRIES));
        let version = self.versions.entry(repo.clone()).or_insert(0);
        *version += 1;
        let mut tags = vec![format!("1.{}.0", *version - 1)];
        if self.rng.chance(40) || showcase {
            tags.push("latest".into());
        }
        let steps = self.dockerfile(&from, app, showcase);
        self.run_build(repo, tags, from, steps);
    }

    /// `docker build .` without `-t`: the result is dangling from the start.
    fn untagged_build(&mut self) {
        let from = self.pick_from();
        let app = *self.rng.pick(APPS);
        let steps = self.dockerfile(&from, app, false);
        self.run_build(String::new(), Vec::new(), from, steps);
    }

    /// The same tags built again after a source change: the steps before the change come from
    /// the build cache, the rest are new images, and the old result loses its tags.
    /// `forced`: rebuild that build, changing only its last two steps.
    fn rebuild(&mut self, forced: Option<usize>) -> bool {
        let candidates: Vec<usize> = (0..self.builds.len())
            .filter(|&i| !self.builds[i].tags.is_empty() && self.builds[i].stages.len() > 3)
            .collect();
        let chosen = match forced {
            Some(i) if candidates.contains(&i) => i,
            Some(_) => return false,
            None if candidates.is_empty() => return false,
            None => *self.rng.pick(&candidates),
        };
        let old = &self.builds[chosen];
        let (repo, tags) = (old.repo.clone(), old.tags.clone());
        let keep = match forced {
            Some(_) => old.stages.len() - 3,
            None => self.rng.range(1, old.stages.len() as u64 - 2) as usize,
        };
        let cached = old.stages[keep].clone();
        let mut all_steps = old.steps[..keep].to_vec();
        let mut steps = old.steps[keep..].to_vec();
        let mut stages = old.stages[..=keep].to_vec();
        let mut rng = self.rng.fork();
        for step in steps.iter_mut() {
            if let Step::Copy { members, .. } | Step::Run { members, .. } = step {
                for m in members.iter_mut() {
                    if let super::layer::Kind::File { seed, .. } = &mut m.kind {
                        *seed = rng.next_u64();
                    }
                }
            }
        }
        let mut prev = cached;
        for step in steps {
            if self.room() == 0 {
                break;
            }
            prev = self.apply(&prev, &step);
            stages.push(prev.clone());
            all_steps.push(step);
        }
        self.finish_build(&repo, &tags, &stages);
        self.builds.push(Build { repo, tags, stages, steps: all_steps });
        true
    }

    /// `docker commit` of a container started from a tagged image.
    fn commit(&mut self) {
        let tagged: Vec<Stage> =
            self.builds.iter().filter(|b| !b.tags.is_empty()).filter_map(|b| b.stages.last().cloned()).collect();
        if tagged.is_empty() || self.room() == 0 {
            return self.new_build(false);
        }
        let from = self.rng.pick(&tagged).clone();
        let t = self.tick(3600);
        let mut config = from.config.clone();
        let author = *self.rng.pick(&["Jane Doe <jane@example.org>", "Ops Bot <ops@example.org>"]);
        let command = "sh -c echo 'hotfix' > /etc/hotfix && rm /etc/motd";
        let files =
            [members::single_file(&mut self.rng, self.scale, "etc/hotfix", 7), members::deletions(&["etc/motd"], None)]
                .concat();
        let (chain, diff) = self.layer(from.chain.as_ref(), &members::with_parent_dirs(files), t);
        config.author = author.into();
        config.comment = "hotfix applied by hand".into();
        config.container = self.rng.hex64();
        config.config.hostname = config.container[..12].to_string();
        config.config.attach_stdout = true;
        config.config.attach_stderr = true;
        config.config.image = from.id.as_ref().map(|d| d.to_string()).unwrap_or_default();
        config.container_config = config.config.clone();
        config.container_config.cmd = Some(vec!["sh".into(), "-c".into(), command.trim_start_matches("sh -c ").into()]);
        config.created = t.to_rfc3339_nano();
        config.docker_version = DOCKER_VERSION.into();
        config.rootfs.diff_ids.push(diff);
        config.history.push(History {
            created: t.to_rfc3339_nano(),
            author: author.into(),
            created_by: command.into(),
            comment: "hotfix applied by hand".into(),
            empty_layer: false,
        });
        let id = self.store.add_image(&config, from.id.as_ref());
        let n = self.versions.entry("local/hotfix".into()).or_insert(0);
        *n += 1;
        let tag = n.to_string();
        self.store.tag("local/hotfix", &tag, &id, t.plus_secs(1));
        let stage = Stage { id: Some(id), config, chain: Some(chain), family: from.family };
        self.builds.push(Build {
            repo: "local/hotfix".into(),
            tags: vec![tag],
            stages: vec![from, stage],
            steps: Vec::new(),
        });
    }

    /// FROM scratch: a static binary, or metadata only (an image without layers).
    fn scratch_build(&mut self, with_binary: bool) {
        let app = *self.rng.pick(APPS);
        let mut steps = vec![Step::Label(vec![("org.opencontainers.image.title".into(), app.into())])];
        if with_binary {
            let members = members::single_file(&mut self.rng, self.scale, &format!("/{app}"), 6_500_000);
            steps.push(Step::Copy { source: format!("file:{}", self.rng.hex64()), dest: format!("/{app}"), members });
            steps.push(Step::Entrypoint(vec![format!("/{app}")]));
        } else {
            steps.push(Step::Cmd(vec!["nothing".into()]));
        }
        let repo = format!("local/{app}-static");
        let version = self.versions.entry(repo.clone()).or_insert(0);
        *version += 1;
        let tags = vec![format!("v{version}")];
        self.run_build(repo, tags, scratch_stage(), steps);
    }

    fn run_build(&mut self, repo: String, tags: Vec<String>, from: Stage, steps: Vec<Step>) {
        let mut stages = vec![from];
        let mut done = Vec::new();
        for step in steps {
            if self.room() == 0 {
                break;
            }
            let next = self.apply(stages.last().unwrap(), &step);
            stages.push(next);
            done.push(step);
        }
        self.finish_build(&repo, &tags, &stages);
        self.builds.push(Build { repo, tags, stages, steps: done });
    }

    fn finish_build(&mut self, repo: &str, tags: &[String], stages: &[Stage]) {
        if stages.len() < 2 {
            return;
        }
        let id = stages.last().unwrap().id.clone().expect("a built image has an ID");
        let when = self.tick(3);
        for tag in tags {
            self.store.tag(repo, tag, &id, when);
        }
    }

    /// A Dockerfile for an application, as a list of steps.
    fn dockerfile(&mut self, from: &Stage, app: &str, showcase: bool) -> Vec<Step> {
        let r = &mut self.rng;
        let scale = self.scale;
        let mut steps = Vec::new();
        let mut labels = vec![("maintainer".to_string(), r.pick(TEAMS).to_string())];
        if showcase || r.chance(50) {
            labels.push(("org.opencontainers.image.title".into(), app.into()));
            labels.push(("org.opencontainers.image.revision".into(), r.hex64()[..12].to_string()));
        }
        if showcase {
            labels.push(("org.example.note".into(), "<b>labels are text</b> & \"quotes\" stay as typed".into()));
        }
        steps.push(Step::Label(labels));
        let workdir = if r.chance(70) { "/app".to_string() } else { format!("/srv/{app}") };
        if showcase || r.chance(60) {
            let port = ["8080", "3000", "5000", "9090"][r.below(4) as usize];
            steps.push(Step::Env(vec![("APP_HOME".into(), workdir.clone()), ("PORT".into(), port.into())]));
        }
        steps.push(Step::Workdir(workdir.clone()));
        let (install, pkgs, size): (&str, &[&str], u64) = match from.family {
            Family::Alpine => ("apk add --no-cache", &["curl", "ca-certificates", "tini"], 3_400_000),
            Family::Debian => (
                "apt-get update && apt-get install -y --no-install-recommends",
                &["curl", "ca-certificates", "libpq5"],
                9_800_000,
            ),
            Family::Python => ("pip install --no-cache-dir", &["flask", "gunicorn", "psycopg"], 14_500_000),
            Family::Node => ("npm ci --omit=dev && npm cache clean --force", &["express", "pg", "pino"], 21_000_000),
        };
        if showcase || r.chance(80) {
            let command = format!("{install} {}", pkgs.join(" "));
            let total = size / 4 + r.below(size);
            let site = match from.family {
                Family::Python => "usr/local/lib/python3.12/site-packages",
                Family::Node => "app/node_modules",
                _ => "usr/share/doc",
            };
            steps.push(Step::Run {
                command,
                members: members::packages(r, scale, pkgs, total, from.family.libdir(), site),
            });
        }
        let files = r.range(3, 25) as usize;
        steps.push(Step::Copy {
            source: format!("dir:{}", r.hex64()),
            dest: workdir.clone(),
            members: members::app_sources(r, scale, &workdir, files),
        });
        if showcase || r.chance(30) {
            let size = r.range(300, 4000);
            let members = members::single_file(r, scale, &format!("{workdir}/config.json"), size);
            steps.push(Step::Copy {
                source: format!("file:{}", r.hex64()),
                dest: format!("{workdir}/config.json"),
                members,
            });
        }
        if showcase || r.chance(15) {
            steps.push(Step::Run {
                command: "rm -f /etc/motd && rm -rf /var/cache/misc && mkdir -p /var/cache/misc".into(),
                members: members::deletions(&["etc/motd"], Some("var/cache/misc")),
            });
        }
        if showcase {
            steps.push(Step::Run { command: members::ODDITIES_COMMAND.into(), members: members::oddities(r) });
        }
        if showcase || r.chance(60) {
            steps.push(Step::Expose(format!("{}/tcp", ["8080", "3000", "5000", "9090"][r.below(4) as usize])));
        }
        if showcase || r.chance(25) {
            steps.push(Step::Volume("/data".into()));
        }
        if showcase || r.chance(40) {
            steps.push(Step::Healthcheck(vec![
                "CMD-SHELL".into(),
                "wget -q -O- http://localhost:8080/health || exit 1".into(),
            ]));
        }
        if showcase || r.chance(45) {
            steps.push(Step::User(if r.chance(50) { "app".into() } else { "1000:1000".into() }));
        }
        if showcase || r.chance(15) {
            steps.push(Step::StopSignal("SIGQUIT".into()));
        }
        if showcase || r.chance(40) {
            steps.push(Step::Entrypoint(vec!["/sbin/tini".into(), "--".into()]));
        }
        let cmd = match from.family {
            Family::Python => vec!["gunicorn".into(), "-b".into(), "0.0.0.0:8080".into(), format!("{app}:app")],
            Family::Node => vec!["node".into(), "server.js".into()],
            _ => vec![format!("/usr/local/bin/{app}"), "--config".into(), format!("{workdir}/config.json")],
        };
        steps.push(Step::Cmd(cmd));
        steps
    }

    /// One legacy-builder step: a new image whose parent is `prev`.
    fn apply(&mut self, prev: &Stage, step: &Step) -> Stage {
        let created = self.tick(40);
        let mut config = prev.config.clone();
        config.author.clear();
        config.comment.clear();
        let mut cfg = config.config.clone();
        cfg.hostname.clear();
        cfg.attach_stdout = false;
        cfg.attach_stderr = false;
        cfg.image = prev.id.as_ref().map(|d| d.to_string()).unwrap_or_default();
        let mut chain = prev.chain.clone();
        let (nop, instruction) = match step {
            Step::Label(kv) => {
                let labels = cfg.labels.get_or_insert_with(BTreeMap::new);
                labels.extend(kv.iter().cloned());
                (true, format!("LABEL {}", pairs(kv)))
            }
            Step::Env(kv) => {
                let env = cfg.env.get_or_insert_with(Vec::new);
                for (k, v) in kv {
                    env.retain(|e| !e.starts_with(&format!("{k}=")));
                    env.push(format!("{k}={v}"));
                }
                (true, format!("ENV {}", pairs(kv)))
            }
            Step::Workdir(dir) => {
                cfg.working_dir = dir.clone();
                (true, format!("WORKDIR {dir}"))
            }
            Step::Expose(port) => {
                cfg.exposed_ports.get_or_insert_with(BTreeMap::new).insert(port.clone(), Empty {});
                (true, format!("EXPOSE {port}"))
            }
            Step::User(user) => {
                cfg.user = user.clone();
                (true, format!("USER {user}"))
            }
            Step::Volume(v) => {
                cfg.volumes.get_or_insert_with(BTreeMap::new).insert(v.clone(), Empty {});
                (true, format!("VOLUME [{v}]"))
            }
            Step::Healthcheck(test) => {
                cfg.healthcheck = Some(Healthcheck {
                    test: test.clone(),
                    interval: 30_000_000_000,
                    timeout: 3_000_000_000,
                    retries: 3,
                });
                (true, format!("HEALTHCHECK &{{{} \"30s\" \"3s\" \"0s\" '\\x03'}}", go_list(test)))
            }
            Step::StopSignal(s) => {
                cfg.stop_signal = Some(s.clone());
                (true, format!("STOPSIGNAL {s}"))
            }
            Step::Entrypoint(ep) => {
                cfg.entrypoint = Some(ep.clone());
                cfg.cmd = None;
                (true, format!("ENTRYPOINT {}", go_list(ep)))
            }
            Step::Cmd(c) => {
                cfg.cmd = Some(c.clone());
                (true, format!("CMD {}", go_list(c)))
            }
            Step::Copy { source, dest, members } => {
                let (c, diff) = self.layer(chain.as_ref(), members, created);
                chain = Some(c);
                config.rootfs.diff_ids.push(diff);
                (false, format!("COPY {source} in {dest} "))
            }
            Step::Run { command, members } => {
                let (c, diff) = self.layer(chain.as_ref(), members, created);
                chain = Some(c);
                config.rootfs.diff_ids.push(diff);
                (false, command.clone())
            }
        };
        config.container = self.rng.hex64();
        let run_cmd = match step {
            Step::Run { .. } => vec![instruction.clone()],
            // COPY and WORKDIR keep "#(nop) " and the instruction in one argument.
            Step::Copy { .. } | Step::Workdir(_) => vec![format!("#(nop) {instruction}")],
            _ => vec!["#(nop) ".to_string(), instruction.clone()],
        };
        config.container_config = nop_config(&cfg, &config.container, run_cmd);
        let created_by = config.container_config.cmd.as_deref().unwrap_or_default().join(" ");
        config.history.push(History {
            created: created.to_rfc3339_nano(),
            created_by,
            empty_layer: nop,
            ..Default::default()
        });
        config.config = cfg;
        config.created = created.to_rfc3339_nano();
        config.docker_version = DOCKER_VERSION.into();
        let id = self.store.add_image(&config, prev.id.as_ref());
        Stage { id: Some(id), config, chain, family: prev.family }
    }
}

/// The builder's `container_config`: the runtime config with the step's command as `Cmd`.
fn nop_config(cfg: &ContainerConfig, container: &str, args: Vec<String>) -> ContainerConfig {
    let mut c = cfg.clone();
    c.hostname = container[..12].to_string();
    c.cmd = Some(["/bin/sh".to_string(), "-c".to_string()].into_iter().chain(args).collect());
    c
}

fn empty_config() -> ImageConfig {
    ImageConfig {
        architecture: "amd64".into(),
        author: String::new(),
        comment: String::new(),
        config: ContainerConfig::default(),
        container: String::new(),
        container_config: ContainerConfig::default(),
        created: String::new(),
        docker_version: String::new(),
        history: Vec::new(),
        os: "linux".into(),
        rootfs: RootFs { kind: "layers".into(), diff_ids: Vec::new() },
    }
}

fn scratch_stage() -> Stage {
    let mut config = empty_config();
    config.config.env = Some(vec![BASE_PATH.to_string()]);
    Stage { id: None, config, chain: None, family: Family::Alpine }
}

/// `k=v k2=v2` as the legacy builder prints LABEL and ENV.
fn pairs(kv: &[(String, String)]) -> String {
    kv.iter()
        .map(|(k, v)| if v.contains(' ') || v.contains('"') { format!("{k}={v:?}") } else { format!("{k}={v}") })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A string list as Go's `%q` of a slice prints it: `["a" "b"]`.
fn go_list<S: AsRef<str>>(items: &[S]) -> String {
    format!("[{}]", items.iter().map(|s| format!("{:?}", s.as_ref())).collect::<Vec<_>>().join(" "))
}
