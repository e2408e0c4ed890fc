// Package report computes contact-center figures: Erlang C and Erlang A
// staffing models here, and the metrics derived from call events. It knows
// nothing of SIP, media or SQL.
package report

import (
	"errors"
	"math"
	"time"
)

// Traffic describes a queue's load.
type Traffic struct {
	ArrivalsPerHour float64
	AHT             time.Duration // mean handle time
	// Patience is the callers' mean patience (exponential); zero means
	// infinitely patient callers (Erlang C).
	Patience time.Duration
	// Threshold is the answer-time threshold of the service level.
	Threshold time.Duration
}

// Result is what a staffing model predicts for N agents.
type Result struct {
	Agents int `json:"agents"`
	// TrafficErlangs is the offered load λ·h.
	TrafficErlangs float64 `json:"traffic_erlangs"`
	// PWait is the probability that a caller waits at all.
	PWait float64 `json:"p_wait"`
	// ServiceLevel is the share of callers answered within the threshold.
	ServiceLevel float64 `json:"service_level"`
	// ASASeconds is the mean wait of answered callers.
	ASASeconds float64 `json:"asa_seconds"`
	// Occupancy is the share of agents' time spent handling calls.
	Occupancy float64 `json:"occupancy"`
	// AbandonRate is the share of callers who hang up before an answer (Erlang A only).
	AbandonRate *float64 `json:"abandon_rate,omitempty"`
	// Model is "erlang-c" or "erlang-a".
	Model string `json:"model"`
}

// ErrBadTraffic reports traffic figures that describe no queue.
var ErrBadTraffic = errors.New("traffic: arrivals, handle time and agents must be positive")

// ErlangB is the blocking probability of n servers offered a Erlangs,
// computed by the stable recursion B(k) = a·B(k−1) / (k + a·B(k−1)).
func ErlangB(n int, a float64) float64 {
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// ErlangC predicts the figures of an M/M/N queue with infinitely patient callers.
func ErlangC(t Traffic, n int) (Result, error) {
	lambda, h, err := rates(t, n)
	if err != nil {
		return Result{}, err
	}
	a := lambda * h
	r := Result{Agents: n, TrafficErlangs: a, Model: "erlang-c"}
	if float64(n) <= a {
		// Unstable: the queue grows without bound.
		r.PWait, r.ServiceLevel, r.ASASeconds, r.Occupancy = 1, 0, math.Inf(1), 1
		return r, nil
	}
	b := ErlangB(n, a)
	c := float64(n) * b / (float64(n) - a*(1-b))
	r.PWait = c
	r.ServiceLevel = 1 - c*math.Exp(-(float64(n)-a)*t.Threshold.Seconds()/h)
	r.ASASeconds = c * h / (float64(n) - a)
	r.Occupancy = a / float64(n)
	return r, nil
}

func rates(t Traffic, n int) (lambda, h float64, err error) {
	lambda = t.ArrivalsPerHour / 3600
	h = t.AHT.Seconds()
	if !(lambda > 0) || !(h > 0) || n < 1 || math.IsInf(lambda, 0) || math.IsInf(h, 0) {
		return 0, 0, ErrBadTraffic
	}
	return lambda, h, nil
}

// ErlangA predicts the figures of an M/M/N+M queue: exponential patience
// with mean t.Patience. With no patience it is Erlang C.
func ErlangA(t Traffic, n int) (Result, error) {
	if t.Patience <= 0 {
		return ErlangC(t, n)
	}
	lambda, h, err := rates(t, n)
	if err != nil {
		return Result{}, err
	}
	mu, gamma := 1/h, 1/t.Patience.Seconds()
	a := lambda * h
	pi, wait := stationary(lambda, mu, gamma, n)
	// pi[k] is the probability of k callers waiting (k ≥ 0, all agents
	// busy); wait is the probability that not all agents are busy.

	// A caller who arrives to find k waiting is served with probability
	// served[k] = Π_{i=0..k} (Nμ+iγ)/(Nμ+(i+1)γ); their expected wait
	// times that indicator is w[k]; the chance to be served within the
	// threshold comes from the ODE of withinThreshold.
	nmu := float64(n) * mu
	served := make([]float64, len(pi))
	w := make([]float64, len(pi))
	prevServed, prevW := 1.0, 0.0
	for k := range pi {
		rk := nmu + float64(k+1)*gamma
		pk := (nmu + float64(k)*gamma) / rk
		served[k] = pk * prevServed
		w[k] = pk * (prevServed/rk + prevW)
		prevServed, prevW = served[k], w[k]
	}
	within := withinThreshold(nmu, gamma, len(pi), t.Threshold.Seconds())

	pServed, waitServed, sl := wait, 0.0, wait
	for k, p := range pi {
		pServed += p * served[k]
		waitServed += p * w[k]
		sl += p * within[k]
	}
	abandon := 1 - pServed
	r := Result{Agents: n, TrafficErlangs: a, Model: "erlang-a", AbandonRate: &abandon}
	r.PWait = 1 - wait
	r.ServiceLevel = sl
	if pServed > 0 {
		r.ASASeconds = waitServed / pServed
	}
	r.Occupancy = math.Min(1, lambda*pServed*h/float64(n))
	return r, nil
}

// stationary returns the M/M/N+M stationary probabilities of k = 0, 1, ...
// callers waiting (truncated where they become negligible) and the
// probability that an agent is free. Probabilities are built as ratios
// from the state "all agents busy, none waiting", so nothing overflows.
func stationary(lambda, mu, gamma float64, n int) (waiting []float64, free float64) {
	// Below N: π(j−1) = π(j) · jμ/λ, relative to π(N) = 1.
	below := 0.0
	x := 1.0
	for j := n; j >= 1; j-- {
		x *= float64(j) * mu / lambda
		below += x
		if x < 1e-300 {
			break
		}
	}
	// Above N: π(N+k) = π(N+k−1) · λ/(Nμ + kγ).
	waiting = []float64{1}
	x = 1.0
	total := 1.0
	for k := 1; k < 1_000_000; k++ {
		x *= lambda / (float64(n)*mu + float64(k)*gamma)
		waiting = append(waiting, x)
		total += x
		if x < 1e-16*total && float64(n)*mu+float64(k)*gamma > lambda {
			break
		}
	}
	sum := total + below
	for i := range waiting {
		waiting[i] /= sum
	}
	return waiting, below / sum
}

// withinThreshold returns, for a caller who arrives to find k waiting, the
// probability of being answered within t seconds. S_k solves
// dS_k/dt = (Nμ+kγ)·S_{k−1} − (Nμ+(k+1)γ)·S_k with S_{−1} = 1, S_k(0) = 0,
// integrated with RK4.
func withinThreshold(nmu, gamma float64, states int, t float64) []float64 {
	s := make([]float64, states)
	if t <= 0 {
		return s
	}
	rmax := nmu + float64(states)*gamma
	steps := int(math.Ceil(t * rmax / 0.05))
	steps = max(min(steps, 2_000_000/max(states, 1)), 100)
	dt := t / float64(steps)
	k1, k2, k3, k4, tmp := make([]float64, states), make([]float64, states), make([]float64, states), make([]float64, states), make([]float64, states)
	deriv := func(in, out []float64) {
		prev := 1.0
		for k := range in {
			out[k] = (nmu+float64(k)*gamma)*prev - (nmu+float64(k+1)*gamma)*in[k]
			prev = in[k]
		}
	}
	for i := 0; i < steps; i++ {
		deriv(s, k1)
		for k := range s {
			tmp[k] = s[k] + dt/2*k1[k]
		}
		deriv(tmp, k2)
		for k := range s {
			tmp[k] = s[k] + dt/2*k2[k]
		}
		deriv(tmp, k3)
		for k := range s {
			tmp[k] = s[k] + dt*k3[k]
		}
		deriv(tmp, k4)
		for k := range s {
			s[k] += dt / 6 * (k1[k] + 2*k2[k] + 2*k3[k] + k4[k])
		}
	}
	return s
}

// AgentsFor returns the fewest agents whose predicted service level reaches
// target (0..1), with that prediction.
func AgentsFor(t Traffic, target float64) (Result, error) {
	if !(target > 0 && target < 1) {
		return Result{}, errors.New("target service level must be between 0 and 1 (exclusive)")
	}
	lambda, h, err := rates(t, 1)
	if err != nil {
		return Result{}, err
	}
	start := 1
	if t.Patience <= 0 {
		start = int(math.Floor(lambda*h)) + 1
	}
	for n := start; n < start+100_000; n++ {
		r, err := ErlangA(t, n)
		if err != nil {
			return Result{}, err
		}
		if r.ServiceLevel >= target {
			return r, nil
		}
	}
	return Result{}, errors.New("no staffing up to 100,000 agents reaches the target")
}
