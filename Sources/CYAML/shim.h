#ifndef SECRET_SYNC_CYAML_SHIM_H
#define SECRET_SYNC_CYAML_SHIM_H

// libyaml's event parser (Debian: libyaml-dev). The manifest reader builds its own node tree from
// the events, with line and column marks; nothing else of libyaml is used. Linked statically
// (Package.swift), so the release binary needs no libyaml at run time.
#include <yaml.h>

#endif
