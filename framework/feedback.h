/* lifelong — the feedback scenario (docs/open-environments.md, "Corrective
 * feedback"): a deployment stream whose items recur; the model answers each
 * round of items first, then the corrector (the oracle's check) fixes its
 * wrong answers within a budget, and the corrections are what trains.
 * The stream with its recurrences and the measurements (repeat_error_rate,
 * prequential accuracy).  Private to the host. */
#pragma once

#include "oracle.h"
#include <json-glib/json-glib.h>

typedef struct {
  int64_t budget;               /* corrections for the whole run */
  double  revisit_probability;  /* an appearance is followed by another with this probability */
  int64_t revisit_gap;          /* mean stream samples between two appearances */
  int64_t repeats;              /* the most appearances an item has after its first */
} LfFeedbackConfig;

/* Reads scenario.feedback (JSON text); FALSE with an error naming
 * scenario.feedback.KEY and the value. */
gboolean     lf_feedback_config_parse (const char *json, LfFeedbackConfig *c, GError **error);

typedef struct LfFeedback LfFeedback;

LfFeedback  *lf_feedback_new (const LfFeedbackConfig *c, uint64_t seed);
void         lf_feedback_free (LfFeedback *fb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfFeedback, lf_feedback_free)

/* The stream of the next experience: its n new ids in arrival order with
 * the recurrences of earlier items inserted where they fall due (a
 * recurrence due after an experience's end comes in the next one; after
 * the last (last TRUE), every pending one, in order, with its own).  Each
 * appearance k <= repeats of an item is followed by another with
 * revisit_probability, 1 .. 2 revisit_gap - 1 samples later (uniform),
 * drawn from a generator keyed by the seed, the item and k.  New GArray
 * of int64. */
GArray      *lf_feedback_stream (LfFeedback *fb, const int64_t *ids, int64_t n, gboolean last);

/* One round: n stream items (ids) answered (answers; truth: their true
 * labels, the host's measurement).  Counts the answers and the repeat
 * errors, then asks o to check the answers (lf_oracle_check) at experience
 * now and step step; the ids it corrected go to corrected (n entries of
 * room).  Returns how many, or -1 with error. */
int64_t      lf_feedback_round (LfFeedback *fb, LfOracle *o, const int64_t *ids, const int32_t *answers,
                                const int32_t *truth, int64_t n, int64_t now, int64_t step, int64_t *corrected,
                                GError **error);
/* A point of the accuracy curve: closes the window of the prequential
 * accuracy (the answers since the last point). */
void         lf_feedback_mark (LfFeedback *fb);
/* Adds repeat_error_rate, prequential_accuracy and corrections to a
 * result's metrics. */
void         lf_feedback_add_metrics (const LfFeedback *fb, JsonObject *metrics);
/* The result's "feedback" member (new node); o: the corrector's oracle. */
JsonNode    *lf_feedback_json (const LfFeedback *fb, const LfOracle *o);

/* repeat_error_rate of a sequence of n appearances (the definition, for
 * tests and docs): appearance i is of item items[i] in round round[i]
 * (non-decreasing), answered wrongly when wrong[i], and corrected[i] when
 * the corrector then gave its label.  An appearance is a repeat when its
 * item was corrected in an earlier round; the rate is the repeats answered
 * wrongly over the repeats (NaN when there are none).  *repeats and
 * *errors (may be NULL) get the two counts. */
double       lf_feedback_repeat_error_rate (const int64_t *items, const int64_t *round, const uint8_t *wrong,
                                            const uint8_t *corrected, int64_t n, int64_t *repeats, int64_t *errors);
