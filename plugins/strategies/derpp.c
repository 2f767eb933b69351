/* lifelong plugin — strategy "derpp": DER++ (Buzzega et al., NeurIPS 2020).
 * DER's logit replay plus a second replayed sample trained on its stored
 * labels; the implementation is der.c's, built with DER_PLUSPLUS. */
#define DER_PLUSPLUS 1
#include "der.c"
