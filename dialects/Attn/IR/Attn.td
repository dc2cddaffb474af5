//===- Attn.td - attn dialect umbrella ---------------------*- tablegen -*-===//

#ifndef ATTN_TD
#define ATTN_TD

include "AttnDialect.td"
include "AttnAttrs.td"
include "AttnOps.td"

#endif // ATTN_TD
