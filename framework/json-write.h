/* lifelong — the JSON writer every output file goes through (private). */
#pragma once

#include <json-glib/json-glib.h>

/* node as JSON text (newly allocated); pretty: two-space indentation, with
 * arrays of numbers on one line. */
char *lf_json_to_string (JsonNode *node, gboolean pretty);
/* The shortest text that reads back to v ("null" when not finite). */
void  lf_json_append_double (GString *out, double v);
