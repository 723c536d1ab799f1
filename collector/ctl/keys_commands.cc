// stewardctl keys generate: a publisher key pair, made locally (no collector).
#include "collector/ctl/artifact_commands.h"
#include "collector/ctl/command.h"

namespace steward::ctl {

CommandNoun KeysNoun() {
  return {"keys", "publisher keys that sign artifacts and jobs",
          {
              {.path = "keys generate",
               .summary = "new Ed25519 publisher key: PREFIX.key (0600) and PREFIX.pub",
               .details = "Give PREFIX.pub to the agents (--trusted-key); keep PREFIX.key off the collector.",
               .flags = {TextFlag("out", "PREFIX", "where to write PREFIX.key and PREFIX.pub"),
                         BoolFlag("force", "overwrite existing files")},
               .examples = {"keys generate --out ~/.steward/ops"},
               .json_keys = {"key_id"},
               .local = true,
               .run = [](CommandContext& c) {
                 return KeysGenerate(c.Get("out"), c.Bool("force"), c.json(), c.out());
               }},
          }};
}

}  // namespace steward::ctl
