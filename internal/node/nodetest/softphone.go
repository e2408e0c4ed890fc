package nodetest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Softphone is an agent desktop's browser softphone as a test drives it:
// a WebRTC peer connection (pion, PCMU) with the node, connected through
// POST /api/v1/webrtc/offer. Its audio is an RTP like a caller's (a tone
// out, the last second heard in), carried to and from the connection by
// a loopback pipe.
type Softphone struct {
	RTP  *RTP
	pc   *webrtc.PeerConnection
	pipe *net.UDPConn
}

// Softphone connects c's softphone with the node, sending a toneHz tone.
func (n *Node) Softphone(t testing.TB, c Credential, toneHz float64) *Softphone {
	t.Helper()
	return dialWebRTC(t, toneHz, func(offer string) string {
		var answer struct {
			SDP string `json:"sdp"`
		}
		if code := n.APIAs(c, "POST", "/api/v1/webrtc/offer", map[string]string{"sdp": offer}, &answer); code != 200 {
			t.Fatalf("nodetest: softphone offer: %d", code)
		}
		return answer.SDP
	})
}

// WebCall is a visitor of the "call us" page: its browser (pion) calls
// the setup's web_caller.number through POST /api/v1/webcall (no login),
// sending a toneHz tone. It returns the call's id.
func (n *Node) WebCall(t testing.TB, toneHz float64) (*Softphone, string) {
	t.Helper()
	var id string
	s := dialWebRTC(t, toneHz, func(offer string) string {
		var answer struct {
			ID  string `json:"id"`
			SDP string `json:"sdp"`
		}
		if code := n.APIAs(Credential{}, "POST", "/api/v1/webcall", map[string]string{"sdp": offer}, &answer); code != 200 {
			t.Fatalf("nodetest: web call: %d", code)
		}
		id = answer.ID
		return answer.SDP
	})
	return s, id
}

// dialWebRTC makes a browser-like peer connection (pion, PCMU, a toneHz
// tone out), gives its offer to post and takes the answer post returns,
// and waits until it connects.
func dialWebRTC(t testing.TB, toneHz float64, post func(offer string) (answer string)) *Softphone {
	t.Helper()
	m := &webrtc.MediaEngine{}
	pcmu := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: pcmu, PayloadType: 0}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(pcmu, "audio", "desktop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	r, err := newRTP()
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &Softphone{RTP: r, pc: pc, pipe: pipe}
	t.Cleanup(s.close)
	r.SetRemote(pipe.LocalAddr().(*net.UDPAddr).AddrPort())
	r.SetTone(toneHz)
	go func() { // the microphone: the RTP's packets into the connection
		buf := make([]byte, 1500)
		var pkt rtp.Packet
		for {
			k, err := pipe.Read(buf)
			if err != nil {
				return
			}
			if pkt.Unmarshal(buf[:k]) == nil {
				_ = track.WriteRTP(&pkt)
			}
		}
	}()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { // the speaker: what the node sends, to the RTP
		buf := make([]byte, 1500)
		for {
			k, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			_, _ = pipe.WriteToUDPAddrPort(buf[:k], r.Local())
		}
	})
	connected := make(chan struct{})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			select {
			case <-connected:
			default:
				close(connected)
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("nodetest: softphone: ICE gathering did not finish")
	}
	answer := post(pc.LocalDescription().SDP)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("nodetest: softphone: the connection did not come up")
	}
	return s
}

// Answer answers the call ringing on the desktop (POST
// /api/v1/webrtc/answer), waiting up to d for one to ring.
func (s *Softphone) Answer(t testing.TB, n *Node, c Credential, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		if n.APIAs(c, "POST", "/api/v1/webrtc/answer", nil, nil) == 200 {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatal(errors.New("nodetest: softphone: nothing rang"))
}

func (s *Softphone) close() {
	_ = s.pc.Close()
	_ = s.pipe.Close()
	s.RTP.close()
}
