namespace Workbench.Nvae;

/// <summary>Which p(x | z) the decoder parameterises.</summary>
public enum LikelihoodKind
{
    /// <summary>Discretized logistic mixture over 8-bit values (<see cref="DiscretizedLogisticMixture"/>).</summary>
    DiscretizedLogisticMixture,
    /// <summary>Bernoulli over binarised pixels (<see cref="BernoulliLikelihood"/>).</summary>
    Bernoulli,
}
