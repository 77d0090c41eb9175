// Activation helpers shared by unary.comp (forward) and unary_bwd.comp.

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): GLSL has no erf().
float erf_approx(float v)
{
  float s = sign(v), t = 1.0 / (1.0 + 0.3275911 * abs(v));
  float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
               + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - poly * exp(-v * v));
}

// tanh without the inf/inf of exp(2v) for large |v|.
float tanh_safe(float v)
{
  float e = exp(-2.0 * abs(v));
  return sign(v) * (1.0 - e) / (1.0 + e);
}

float sigmoid(float v) { return 1.0 / (1.0 + exp(-v)); }
